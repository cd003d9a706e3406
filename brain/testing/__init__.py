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
"""

from brain.testing._memory import MemoryBroker, MemoryTransport
from brain.testing._running import DEFAULT_TIMEOUT, Recording, Running, record, running, send

__all__ = [
    "DEFAULT_TIMEOUT",
    "MemoryBroker",
    "MemoryTransport",
    "Recording",
    "Running",
    "record",
    "running",
    "send",
]
