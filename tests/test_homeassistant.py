"""The homeassistant node: discovery configs as Home Assistant documents them, states that
change as brain sees, switches that arm rules; in this process and on a real broker."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image

from brain import testing
from brain.testing import MemoryBroker, Running, running, send
from brain.testing import record as recording
from brain.visits import Visits
from effectors.alerts import Alerts
from effectors.homeassistant import HomeAssistant
from schemas import Alert, Label, Perception, Snapshot, State
from tests.support import Broker, NodeProcess, Recorder, publish, topic_is
from tests.walks import face, perceived, walking

#: What Home Assistant's MQTT platforms require and accept, from its documentation
#: (home-assistant.io/integrations/{component}.mqtt) and the DISCOVERY_SCHEMA of
#: homeassistant/components/mqtt/{component}.py.
REQUIRED = {
    "binary_sensor": {"state_topic"},
    "sensor": {"state_topic"},
    "switch": {"command_topic"},
    "image": {"image_topic"},  # or url_topic
}
COMMON = {
    "name", "unique_id", "object_id", "device", "availability", "availability_mode", "icon",
    "entity_category", "enabled_by_default", "qos", "encoding", "json_attributes_topic",
}  # fmt: skip
ACCEPTED = {
    "binary_sensor": COMMON | {
        "state_topic", "value_template", "payload_on", "payload_off", "device_class",
        "off_delay", "expire_after", "force_update",
    },
    "sensor": COMMON | {
        "state_topic", "value_template", "unit_of_measurement", "device_class", "state_class",
        "expire_after", "force_update",
    },
    "switch": COMMON | {
        "command_topic", "state_topic", "payload_on", "payload_off", "state_on", "state_off",
        "value_template", "optimistic", "retain", "device_class",
    },
    "image": COMMON | {"image_topic", "url_topic", "content_type", "image_encoding"},
}  # fmt: skip
DEVICE = {
    "identifiers", "connections", "name", "manufacturer", "model", "sw_version", "hw_version",
    "via_device", "suggested_area", "configuration_url", "serial_number",
}  # fmt: skip
AVAILABILITY = {"topic", "payload_available", "payload_not_available", "value_template"}


def render(template: str, payload: bytes) -> str:
    """A value template as Home Assistant renders it: ``value``, and ``value_json`` only
    when the payload is JSON; a variable that is not there is an error, as HA logs it."""
    value = payload.decode()
    variables: dict[str, Any] = {"value": value}
    with contextlib.suppress(ValueError):
        variables["value_json"] = json.loads(value)
    return jinja2.Template(template, undefined=jinja2.StrictUndefined).render(**variables)


def configs(broker: MemoryBroker, *objects: str) -> dict[str, dict[str, Any]]:
    """The retained discovery configs of these object ids, by object id."""
    found = {}
    for object_id in objects:
        component = object_id.split(":")[0]
        topic = f"homeassistant/{component}/brain_brain/{object_id.split(':')[1]}/config"
        payload = broker.retained(topic)
        assert payload, f"no config at {topic}"
        found[object_id] = json.loads(payload)
    return found


def check_schema(component: str, config: dict[str, Any]) -> None:
    assert REQUIRED[component] <= set(config), (component, config)
    assert set(config) <= ACCEPTED[component], set(config) - ACCEPTED[component]
    assert set(config["device"]) <= DEVICE and config["device"]["identifiers"]
    for entry in config.get("availability", []):
        assert set(entry) <= AVAILABILITY and entry["topic"].startswith("brain/status/")


def perception(camera: str, *labels: str, text: str = "I see a person.") -> Perception:
    return Perception(
        source=camera,
        cause="frame",
        sense="camera",
        kind="vision",
        labels=[Label(label=label, score=0.9) for label in labels],
        text=text,
    )


@contextlib.contextmanager
def home(
    tmp_path: Path, broker: MemoryBroker | None = None, **options: Any
) -> Iterator[tuple[MemoryBroker, Running]]:
    broker = broker or MemoryBroker()
    settings = {"memory": tmp_path / "homeassistant.json", **options}
    with running(HomeAssistant, broker, options=settings) as node:
        yield broker, node


def test_each_entity_s_config_is_what_home_assistant_documents_and_its_topics_are_alive(
    tmp_path: Path,
) -> None:
    broker = MemoryBroker()
    rules = {"rules": [{"name": "door", "labels": ["person"], "window": 1, "cooldown": 0}]}
    alerts_options = {"outbox": tmp_path / "o.sqlite3", "armed_file": tmp_path / "a.json", **rules}
    with (
        running(Alerts, broker, options=alerts_options) as alerts,
        home(tmp_path, broker, quiet=600) as (_, node),
    ):
        send(broker, perception("door", "person", "stranger", text="I see a stranger."))
        snapshot = io.BytesIO()
        Image.new("RGB", (32, 24), (10, 200, 10)).save(snapshot, format="JPEG")
        picture = Snapshot(content_type="image/jpeg", data=snapshot.getvalue(), width=32, height=24)
        send(
            broker,
            Alert(source="door", rule="door", perception=perception("door"), snapshot=picture),
        )
        node.idle()
        found = configs(
            broker,
            "binary_sensor:door_person",
            "binary_sensor:door_stranger",
            "sensor:door_seen",
            "image:door_snapshot",
            "switch:rule_door_armed",
            "binary_sensor:node_alerts",
            "binary_sensor:node_homeassistant",
        )
        for object_id, config in found.items():
            check_schema(object_id.split(":")[0], config)
            if "value_template" in config:  # a state cleared (its entity removed): no error
                assert render(config["value_template"], b"") in ("", "OFF")
            for entry in config.get("availability", []):  # wired to a node that is online
                assert (
                    render(entry["value_template"], broker.retained(entry["topic"]) or b"")
                    == (entry["payload_available"])
                )
        for what in ("person", "stranger"):
            sensor = found[f"binary_sensor:door_{what}"]
            state = broker.retained(sensor["state_topic"]) or b""
            assert render(sensor["value_template"], state) == sensor["payload_on"]
        seen = found["sensor:door_seen"]
        assert render(seen["value_template"], broker.retained(seen["state_topic"]) or b"") == (
            "I see a stranger."
        )
        image = found["image:door_snapshot"]
        assert broker.retained(image["image_topic"]) == picture.data
        assert found["binary_sensor:door_person"]["device"]["via_device"] == "brain_brain"
        # Entity ids read binary_sensor.brain_door_person; the unique id users' entities
        # are kept by does not change.
        person = found["binary_sensor:door_person"]
        assert (person["object_id"], person["unique_id"]) == (
            "brain_door_person", "brain_brain_door_person",
        )  # fmt: skip

        # The switch sends what its config says, and the alerts node obeys it.
        switch = found["switch:rule_door_armed"]
        states = recording(broker, State, node="alerts", name="door")
        broker.publish(switch["command_topic"], switch["payload_off"])
        alerts.idle()
        assert (
            render(switch["value_template"], broker.retained(switch["state_topic"]) or b"")
            == (switch["state_off"])
        )
        assert [state.value for state in states.events][-1] == "disarmed"


def test_a_person_goes_off_after_the_quiet_time(tmp_path: Path) -> None:
    with home(tmp_path, quiet=0.2) as (broker, node):
        person = recording(broker, State, node="homeassistant", name="garden-person")
        send(broker, perception("garden", "person"))
        values = [state.value for state in person.wait(3)]  # OFF (new), ON, then OFF again
        node.idle()
    assert values == ["OFF", "ON", "OFF"]


def test_the_visitors_sensor_says_who_is_at_the_camera_visit_by_visit(tmp_path: Path) -> None:
    """Alice walks up and her face is told; a stranger joins her; both leave."""
    visits = {"state_file": tmp_path / "visits.json", "lost_after": 1.0}
    with (
        home(tmp_path, cameras=["frontdoor"]) as (broker, node),
        running(Visits, broker, options=visits),
    ):
        config = configs(broker, "sensor:frontdoor_visitors")["sensor:frontdoor_visitors"]
        check_schema("sensor", config)
        said = recording(broker, State, node="homeassistant", name="frontdoor-visitors")
        alice, stranger = list(walking(3, start=40)), list(walking(3, start=400, y=20))
        for n, ((at, box), (_, other)) in enumerate(zip(alice, stranger, strict=True)):
            boxes = (box, other) if n >= 5 else (box,)
            faces = (face("alice", box),) if n == 2 else ()
            send(broker, perceived(at, *boxes, faces=faces))
        said.wait_for(lambda state: state.value == "nobody" and state is not said.events[0])
        node.idle()
    values = [render(config["value_template"], state.to_json()) for state in said.events]
    assert values[0] == "nobody"
    assert "Alice" in values and "Alice, someone" in values
    assert values[-1] == "nobody"


def test_configs_are_said_again_when_home_assistant_comes_back(tmp_path: Path) -> None:
    with home(tmp_path, cameras=["door"]) as (broker, node):
        node.idle()
        said = node.stats()["configs"]
        broker.publish("homeassistant/status", "online")
        node.idle()
        assert node.stats()["configs"] == 2 * said


def test_a_camera_taken_out_of_the_list_loses_its_entities(tmp_path: Path) -> None:
    broker = MemoryBroker()
    with home(tmp_path, broker, cameras=["door", "garden"]) as (_, node):
        node.idle()
    assert broker.retained("homeassistant/binary_sensor/brain_brain/door_person/config")
    with home(tmp_path, broker, cameras=["garden"]) as (_, node):
        node.idle()
    assert broker.retained("homeassistant/binary_sensor/brain_brain/door_person/config") is None
    assert broker.retained("brain/state/homeassistant/door-person") is None
    assert broker.retained("homeassistant/binary_sensor/brain_brain/garden_person/config")


def test_after_a_broker_restart_the_entities_come_back(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
) -> None:
    config = "homeassistant/binary_sensor/brain_brain/door_person/config"
    node = brain_process(
        "--mqtt",
        mosquitto.url,
        "--set",
        'homeassistant.cameras=["door"]',
        "--set",
        f'homeassistant.memory="{tmp_path / "ha.json"}"',
        "node",
        "homeassistant",
    )
    node.wait_online(mosquitto, "homeassistant")
    first = record(mosquitto, config, "brain/snapshots/door")
    first.wait_for(topic_is(config))
    person = perception("door", "person", text="I see a person.")
    snapshot = Snapshot(content_type="image/jpeg", data=testing.frame((9, 9, 9)).data, width=64,
                        height=48)  # fmt: skip
    publish(mosquitto, "brain/alerts/door", Alert(source="door", rule="door", perception=person,
            snapshot=snapshot).to_json())  # fmt: skip
    first.wait_for(topic_is("brain/snapshots/door"))
    mosquitto.stop()  # it keeps nothing: every retained config is gone
    mosquitto.start()
    node.wait_for_log('"event": "reconnected"')
    again = record(mosquitto, "homeassistant/#")
    said = again.wait_for(topic_is("homeassistant/+/brain_brain/+/config"), count=6, timeout=60)
    components = sorted(topic.split("/")[1] for topic, _ in said)
    assert components == [
        "binary_sensor", "binary_sensor", "binary_sensor", "image", "sensor", "sensor"
    ]  # fmt: skip
    for topic, payload in said:  # the camera's five, and the homeassistant node's own
        check_schema(topic.split("/")[1], json.loads(payload))
    # The last alert's picture too: the broker lost it with the rest.
    [(_, picture)] = record(mosquitto, "brain/snapshots/door").wait_for(topic_is("#"))
    assert picture == snapshot.data
    assert node.process.poll() is None


def test_a_rule_removed_before_home_assistant_s_node_starts_loses_its_switch(
    tmp_path: Path,
) -> None:
    """Order must not decide: the alerts node said the rule went while nobody showed it."""
    broker = MemoryBroker()
    stale = "homeassistant/switch/brain_brain/rule_door_armed/config"
    with home(tmp_path, broker) as (_, shown):  # a switch for "door" is shown...
        send(broker, State(source="alerts", node="alerts", name="door", value="armed"))
        shown.idle()
        assert broker.retained(stale)
    alerts = {"outbox": tmp_path / "o.sqlite3", "armed_file": tmp_path / "armed.json"}
    said = recording(broker, State, node="alerts", name="door")
    with running(Alerts, broker, options={**alerts, "rules": [{"name": "door", "labels": ["x"]}]}):
        said.wait(1)  # armed
    with running(Alerts, broker, options={**alerts, "rules": [{"name": "gate", "labels": ["x"]}]}):
        said.wait(2)  # ... "door" left the config while Home Assistant's node was not running
    with home(tmp_path, broker) as (_, node):
        node.idle()
        assert not broker.retained(stale)  # gone, and no empty state for templates to read
        assert json.loads(broker.retained("brain/state/alerts/door") or b"{}")["value"] == "removed"
