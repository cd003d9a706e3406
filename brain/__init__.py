"""brain: an event-driven brain on an MQTT bus.

The public API for writing nodes: subclass ``Sense`` or ``Effector`` (or ``Node``),
give it a ``name``, an ``Options`` model and the events it ``publishes``, mark its
handlers with ``@on(EventType)``, and register it under the ``brain.nodes`` entry
point group or drop its file into a plugins directory. ``brain.testing`` runs a node
in memory, without a broker, for its tests.
"""

from brain._bus import OFFLINE, ONLINE, STOPPED, Bus, describe_rejection
from brain._children import die_with_parent
from brain._config import OptionError, Settings, load_settings, state_dir
from brain._errors import BrainError, FatalError
from brain._files import OutsideFolderError, inside, open_database, remove_oldest, write_whole
from brain._images import DEFAULT_MAX_PIXELS, DecodeError, decode, image_header
from brain._inbox import Latest, Queue, option
from brain._model import RGB, Model
from brain._node import Effector, Node, NodeOptions, Sense
from brain._plugins import MODEL_GROUP, NODE_GROUP, Catalog, PluginError, discover
from brain._runner import EXIT_FATAL, run_node
from brain._stats import Counters
from brain._supervisor import ChildSpec, RestartPolicy, Supervisor
from brain._topics import Topics
from brain._transport import Callbacks, PahoTransport, Sent, Transport, Will
from brain._url import BrokerUrl, BrokerUrlError
from brain._voice import voice_command
from brain._wiring import On, on

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "EXIT_FATAL",
    "MODEL_GROUP",
    "NODE_GROUP",
    "OFFLINE",
    "ONLINE",
    "RGB",
    "STOPPED",
    "BrainError",
    "BrokerUrl",
    "BrokerUrlError",
    "Bus",
    "Callbacks",
    "Catalog",
    "ChildSpec",
    "Counters",
    "DecodeError",
    "Effector",
    "FatalError",
    "Latest",
    "Model",
    "Node",
    "NodeOptions",
    "On",
    "OptionError",
    "OutsideFolderError",
    "PahoTransport",
    "PluginError",
    "Queue",
    "RestartPolicy",
    "Sense",
    "Sent",
    "Settings",
    "Supervisor",
    "Topics",
    "Transport",
    "Will",
    "decode",
    "describe_rejection",
    "die_with_parent",
    "discover",
    "image_header",
    "inside",
    "load_settings",
    "on",
    "open_database",
    "option",
    "remove_oldest",
    "run_node",
    "state_dir",
    "voice_command",
    "write_whole",
]
