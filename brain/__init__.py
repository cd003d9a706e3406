"""brain: an event-driven brain on an MQTT bus.

What a node's author needs: subclass ``Sense`` or ``Effector`` (or ``Node``), give it a
``name``, an ``Options`` model and the events it ``publishes``, mark its handlers with
``@on(EventType)``, and register it under the ``brain.nodes`` entry point group or drop
its file into a plugins directory. A model is a plugin too: subclass ``Model``.

The rest is in public submodules: ``brain.testing`` (a node in memory, for its tests),
``brain.files`` and ``brain.images`` (a node's helpers), ``brain.bus``,
``brain.config``, ``brain.plugins`` and ``brain.processes`` (for tools that run nodes).
"""

from brain._config import state_dir
from brain._errors import BrainError, FatalError
from brain._inbox import Latest, Queue, option
from brain._model import RGB, Model
from brain._node import Effector, Node, NodeOptions, Sense
from brain._wiring import on

__all__ = [
    "RGB",
    "BrainError",
    "Effector",
    "FatalError",
    "Latest",
    "Model",
    "Node",
    "NodeOptions",
    "Queue",
    "Sense",
    "on",
    "option",
    "state_dir",
]
