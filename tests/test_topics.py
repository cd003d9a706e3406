"""Topics come from the event types' templates: the contract's table, spelled once."""

from __future__ import annotations

import pytest

from brain.bus import Topics
from schemas import (
    EVENTS,
    Alert,
    Command,
    ErrorEvent,
    ImageEvent,
    MentionEvent,
    Perception,
    Stats,
    TranscriptEvent,
)

PERCEPTION = Perception(source="door", cause="c", sense="camera", kind="vision", text="I see.")


def test_every_event_type_has_a_topic_under_the_prefix() -> None:
    topics = Topics("home")
    assert {kind.__name__: topics.matching(kind) for kind in EVENTS} == {
        "ImageEvent": "home/senses/camera/+/image",
        "TranscriptEvent": "home/senses/microphone/+/transcript",
        "MentionEvent": "home/senses/twitter/+/mention",
        "Perception": "home/perceptions/+/+",
        "Track": "home/tracks/+",
        "Alert": "home/alerts/+",
        "Clip": "home/clips/+",
        "Command": "home/commands/+/+",
        "State": "home/state/+/+",
        "Stats": "home/stats/+",
        "ErrorEvent": "home/errors/+",
    }


def test_an_event_is_published_where_its_fields_say() -> None:
    topics = Topics()
    said = TranscriptEvent(source="kitchen", text="hello")
    assert topics.of(said) == "brain/senses/microphone/kitchen/transcript"
    assert topics.of(said, sense="browser") == "brain/senses/browser/kitchen/transcript"
    assert topics.of(PERCEPTION) == "brain/perceptions/camera/door"
    assert (
        topics.of(Alert(source="door", rule="door", perception=PERCEPTION)) == "brain/alerts/door"
    )
    stats = Stats(source="cortex", node="cortex", uptime_s=1)
    assert topics.of(stats) == "brain/stats/cortex"
    error = ErrorEvent(source="cortex", node="cortex", reason="bad")
    assert topics.of(error) == "brain/errors/cortex"


def test_a_command_names_who_obeys_and_a_missing_key_is_one_sentence() -> None:
    order = Command(source="kitchen", command="snapshot")
    assert Topics().of(order, node="camera", target="door") == "brain/commands/camera/door"
    with pytest.raises(TypeError, match=r"publishing a Command needs node=\.\.\."):
        Topics().of(order)


def test_a_filter_narrows_by_keys_and_can_be_shared() -> None:
    topics = Topics()
    assert topics.matching(ImageEvent, source="door") == "brain/senses/camera/door/image"
    assert topics.matching(MentionEvent, sense="+") == "brain/senses/+/+/mention"
    shared = topics.matching(ImageEvent, shared="cortex")
    assert shared == "$share/cortex/brain/senses/camera/+/image"
    assert topics.matching(Command, node="camera") == "brain/commands/camera/+"


def test_a_topic_gives_back_its_keys() -> None:
    keys = Topics("my/home").keys(Command, "my/home/commands/camera/door")
    assert keys == {"node": "camera", "target": "door"}
