"""The bus outside a node: for tools, tests and programs that talk to brain directly.

A node never needs this module (its ``self.bus`` and ``self.publish`` are enough);
``brain watch``, ``brain replay`` and the benchmarks do::

    from brain.bus import Bus, BrokerUrl

    bus = Bus(node="tool", url=BrokerUrl.parse("mqtt://127.0.0.1:1883"), presence=False)
    bus.connect(timeout=10)
    bus.subscribe(Perception, print)
"""

from brain._bus import OFFLINE, ONLINE, STOPPED, Bus, describe_rejection
from brain._topics import Topics
from brain._transport import Callbacks, PahoTransport, Sent, Transport, Will
from brain._url import BrokerUrl, BrokerUrlError

__all__ = [
    "OFFLINE",
    "ONLINE",
    "STOPPED",
    "BrokerUrl",
    "BrokerUrlError",
    "Bus",
    "Callbacks",
    "PahoTransport",
    "Sent",
    "Topics",
    "Transport",
    "Will",
    "describe_rejection",
]
