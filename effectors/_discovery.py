"""Home Assistant's MQTT discovery payloads, with the field names of its documentation.

https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery: a retained JSON config on
``{discovery_prefix}/{component}/{node_id}/{object_id}/config`` makes an entity; an empty
retained message there removes it. Each entity belongs to a device (one per camera, one
for brain itself), and is available while the node that feeds it says ``online``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas import Command

#: The availability of an entity, from ``{prefix}/status/{node}``: brain says ``online``,
#: ``offline`` (its will) or ``stopped``, and Home Assistant wants one of two words.
_PRESENCE = "{{ 'online' if value == 'online' else 'offline' }}"
#: States brain publishes are ``State`` events; Home Assistant reads their ``value``.
# An empty payload (a state cleared when its entity goes) has no value_json: Home Assistant
# would log a template error for each.
_STATE_VALUE = "{{ value_json.value if value_json is defined else '' }}"
ON, OFF = "ON", "OFF"


@dataclass(frozen=True)
class Config:
    """One entity's discovery config, and the topic it goes to."""

    topic: str
    payload: dict[str, Any]

    def encoded(self) -> bytes:
        return json.dumps(self.payload, sort_keys=True).encode()


@dataclass(frozen=True)
class Discovery:
    """Builds the configs of one brain (one topic prefix) under ``discovery_prefix``."""

    discovery_prefix: str
    prefix: str
    version: str

    @property
    def node_id(self) -> str:
        """brain's id in Home Assistant: the topic prefix, as the characters it allows."""
        return "brain_" + "".join(c if c.isalnum() or c in "_-" else "_" for c in self.prefix)

    @property
    def entity_prefix(self) -> str:
        """What Home Assistant's entity ids start with: ``binary_sensor.brain_door_person``
        (the node id, ``brain_brain``, made them ``brain_brain_door_person``)."""
        return "brain" if self.prefix == "brain" else self.node_id

    def topic(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node_id}/{object_id}/config"

    def brain_device(self) -> dict[str, Any]:
        return {
            "identifiers": [self.node_id],
            "name": "brain" if self.prefix == "brain" else f"brain {self.prefix}",
            "manufacturer": "brain",
            "model": "brain",
            "sw_version": self.version,
        }

    def camera_device(self, camera: str) -> dict[str, Any]:
        return {
            "identifiers": [f"{self.node_id}_camera_{camera}"],
            "name": f"{camera} camera",
            "manufacturer": "brain",
            "model": "camera",
            "via_device": self.node_id,
        }

    def _entity(
        self, component: str, object_id: str, name: str, device: dict[str, Any], fed_by: str
    ) -> tuple[str, dict[str, Any]]:
        payload = {
            "name": name,
            # The unique id stays as it was: Home Assistant keys each entity, and what
            # its user set on it, by it. The object id only names a new entity.
            "unique_id": f"{self.node_id}_{object_id}",
            "object_id": f"{self.entity_prefix}_{object_id}",
            "device": device,
            "availability": [
                {
                    "topic": f"{self.prefix}/status/{fed_by}",
                    "value_template": _PRESENCE,
                    "payload_available": "online",
                    "payload_not_available": "offline",
                }
            ],
        }
        return self.topic(component, object_id), payload

    def presence(self, camera: str, what: str, state_topic: str, fed_by: str) -> Config:
        """A binary sensor: ``what`` (person, stranger) is seen at ``camera``."""
        topic, payload = self._entity(
            "binary_sensor",
            f"{camera}_{what}",
            what.capitalize(),
            self.camera_device(camera),
            fed_by,
        )
        payload |= {
            "state_topic": state_topic,
            "value_template": _STATE_VALUE,
            "payload_on": ON,
            "payload_off": OFF,
            "device_class": "occupancy",
        }
        return Config(topic, payload)

    def sentence(self, camera: str, state_topic: str, fed_by: str) -> Config:
        """A sensor: what brain last said it saw at ``camera``."""
        return self._sensor(camera, "seen", "Seen", state_topic, fed_by, icon="mdi:eye")

    def visitors(self, camera: str, state_topic: str, fed_by: str) -> Config:
        """A sensor: who is at ``camera`` now, visit by visit ("Alice, a stranger")."""
        return self._sensor(
            camera, "visitors", "Visitors", state_topic, fed_by, icon="mdi:account-multiple"
        )

    def _sensor(
        self, camera: str, key: str, name: str, state_topic: str, fed_by: str, *, icon: str
    ) -> Config:
        topic, payload = self._entity(
            "sensor", f"{camera}_{key}", name, self.camera_device(camera), fed_by
        )
        payload |= {"state_topic": state_topic, "value_template": _STATE_VALUE, "icon": icon}
        return Config(topic, payload)

    def snapshot(self, camera: str, image_topic: str, fed_by: str) -> Config:
        """An image: the last alert's snapshot at ``camera`` (raw JPEG on ``image_topic``)."""
        topic, payload = self._entity(
            "image", f"{camera}_snapshot", "Last alert", self.camera_device(camera), fed_by
        )
        payload |= {"image_topic": image_topic, "content_type": "image/jpeg"}
        return Config(topic, payload)

    def armed(self, rule: str, command_topic: str, state_topic: str, fed_by: str) -> Config:
        """A switch: alert rule ``rule`` armed or not; it sends brain's own command event."""
        topic, payload = self._entity(
            "switch", f"rule_{rule}_armed", f"Alerts {rule}", self.brain_device(), fed_by
        )
        # Without an id or a time: the alerts node's reading gives each a new one.
        arm, disarm = (
            json.dumps(
                {
                    "schema": Command.schema_name(),
                    "source": "homeassistant",
                    "command": order,
                    "reason": "switched in Home Assistant",
                }
            )
            for order in ("arm", "disarm")
        )
        payload |= {
            "command_topic": command_topic,
            "payload_on": arm,
            "payload_off": disarm,
            "state_topic": state_topic,
            "value_template": _STATE_VALUE,
            "state_on": "armed",
            "state_off": "disarmed",
            "icon": "mdi:shield-home",
        }
        return Config(topic, payload)

    def running(self, node: str, status_topic: str) -> Config:
        """A binary sensor: brain's node ``node`` is running (from its status topic)."""
        object_id = "node_" + node.replace("/", "_")  # camera/frontdoor: one of several
        topic, payload = self._entity(
            "binary_sensor", object_id, f"Node {node}", self.brain_device(), node
        )
        del payload["availability"]  # it says itself whether the node is there
        payload |= {
            "state_topic": status_topic,
            "value_template": "{{ 'ON' if value == 'online' else 'OFF' }}",
            "payload_on": ON,
            "payload_off": OFF,
            "device_class": "running",
            "entity_category": "diagnostic",
        }
        return Config(topic, payload)
