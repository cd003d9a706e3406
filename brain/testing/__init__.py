"""Testing nodes without a broker: a broker in memory, a node running in this process.

For plugin authors as much as for brain's own tests::

    from brain.testing import MemoryBroker, record, running, send

    broker = MemoryBroker()
    said = record(broker, Perception)
    with running(Echo, broker):
        send(broker, TranscriptEvent(source="kitchen", text="hello"))
        [perception] = said.wait(1)

The node runs as ``brain run`` would run it (its options validated, ``start``, its
``@on`` handlers on its inbox thread, ``run``, ``close``), only its bus is in memory.

``frame`` builds a camera's ``ImageEvent`` from a photo, pixels or a colour. Where a
test must prove what only the real broker can (an ACL, a restart, another process),
``Mosquitto`` runs one of the test's own, and ``home_environment`` keeps what the
test's processes write out of the user's home:
``running(Node, BrokerUrl.parse(Mosquitto(folder).url))`` inside its ``with``.
"""

from brain.testing._frames import frame
from brain.testing._memory import MemoryBroker, MemoryTransport
from brain.testing._mosquitto import Mosquitto, free_port, home_environment
from brain.testing._running import DEFAULT_TIMEOUT, Recording, Running, record, running, send

__all__ = [
    "DEFAULT_TIMEOUT",
    "MemoryBroker",
    "MemoryTransport",
    "Mosquitto",
    "Recording",
    "Running",
    "frame",
    "free_port",
    "home_environment",
    "record",
    "running",
    "send",
]
