"""The shipped mosquitto/ config and ACL, on a real Mosquitto: each job is allowed to the
users whose job it is, and refused to every other user the ACL names."""

from __future__ import annotations

import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.production import USERS, publish_as
from tests.support import Broker, Recorder, topic_is

#: What a job's message holds: the ACL judges the topic alone.
PROBE = b'{"probe": true}'
#: A topic for each job on the bus, and the users who may do it (all others may not).
JOBS: dict[str, tuple[str, set[str]]] = {
    "a frame": ("brain/senses/camera/frontdoor/image", {"camera", "browser"}),
    "a transcript": ("brain/senses/microphone/kitchen/transcript", {"microphone", "browser"}),
    "a mention": ("brain/senses/twitter/brain/mention", {"twitter"}),
    "a perception": ("brain/perceptions/camera/frontdoor", {"cortex"}),
    "a visit's track": ("brain/tracks/frontdoor", {"visits"}),
    "an alert": ("brain/alerts/person", {"alerts"}),
    "a clip": ("brain/clips/person", {"alerts"}),
    "a rule's state": ("brain/state/alerts/person", {"alerts"}),
    "arming a rule": ("brain/commands/alerts/person", {"browser", "hass", "owner"}),
    "enrolling a face": ("brain/commands/cortex/frontdoor", {"owner"}),
    "closing a camera": ("brain/commands/camera/frontdoor", {"cortex", "owner"}),
    "a discovery config": ("homeassistant/switch/brain/person/config", {"homeassistant"}),
    "Home Assistant's birth": ("homeassistant/status", {"homeassistant", "hass"}),
    "a camera's state in HA": ("brain/state/homeassistant/frontdoor-person", {"homeassistant"}),
    "the alerts' presence": ("brain/status/alerts", {"alerts"}),
    "the visits' presence": ("brain/status/visits", {"visits"}),
    "a camera's presence": ("brain/status/camera/frontdoor", {"camera"}),
    "the cortex's figures": ("brain/stats/cortex", {"cortex"}),
    "a replay": ("replay/senses/camera/frontdoor/image", {"owner"}),
}


@pytest.mark.parametrize("user", sorted(USERS))
def test_each_user_may_do_its_jobs_and_no_other(production_broker: Broker, user: str) -> None:
    answers = publish_as(
        production_broker.port, user, [(topic, PROBE) for topic, _ in JOBS.values()]
    )
    allowed = {job for job, answer in zip(JOBS, answers, strict=True) if not answer.is_failure}
    assert allowed == {job for job, (_, users) in JOBS.items() if user in users}


def test_a_refused_message_reaches_nobody(
    production_broker: Broker, record: Callable[..., Recorder]
) -> None:
    seen = record(production_broker, "brain/#", username="watch", password=USERS["watch"])
    refused, allowed = publish_as(
        production_broker.port,
        "camera",
        [
            ("brain/perceptions/camera/frontdoor", PROBE),
            ("brain/senses/camera/frontdoor/image", PROBE),
        ],
    )
    assert refused.getName() == "Not authorized"
    assert not allowed.is_failure
    seen.wait_for(topic_is("brain/senses/camera/frontdoor/image"))
    assert not seen.matching(topic_is("brain/perceptions/#"))


def test_a_wrong_password_is_refused(production_broker: Broker) -> None:
    answered = threading.Event()
    reasons: list[ReasonCode] = []
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("camera", "wrong")
    client.on_connect = lambda _c, _u, _f, reason, _p: (reasons.append(reason), answered.set())
    client.connect("127.0.0.1", production_broker.port)
    client.loop_start()
    assert answered.wait(10)
    client.loop_stop()
    assert reasons[0].is_failure
