"""A node's wiring is what it declares: its ``@on`` handlers and its ``publishes``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from brain import Effector, Latest, Node, NodeOptions, on
from brain.cli import main
from brain.plugins import NODE_GROUP, discover
from brain.testing import MemoryBroker, record, running, send
from schemas import Alert, ErrorEvent, Event, ImageEvent, Perception, TranscriptEvent

PERCEPTION = Perception(source="door", cause="c", sense="camera", kind="vision", text="I see.")


class Loud(Node[NodeOptions]):
    """Publishes an alert it never declared."""

    name = "loud"
    publishes = (Perception,)

    @on(TranscriptEvent)
    def hear(self, transcript: TranscriptEvent) -> None:
        self.publish(Alert(source=transcript.source, rule="door", perception=PERCEPTION))


class Parrot(Effector[NodeOptions]):
    """Overrides `perceive` without a declaration: it keeps its parent's."""

    name = "parrot"
    publishes = (TranscriptEvent,)

    def perceive(self, perception: Perception) -> None:
        self.publish(TranscriptEvent(source=perception.source, text=perception.text))


def test_every_built_in_node_declares_what_it_reads_and_writes() -> None:
    catalog = discover()
    wiring = {}
    for name in catalog.names(NODE_GROUP):
        node_type = catalog.node(name)
        wiring[name] = (
            {(d.event.__name__, d.method) for d in node_type.subscribes},
            {kind.__name__ for kind in node_type.publishes},
        )
    assert wiring == {
        "camera": ({("Command", "obey")}, {"ImageEvent"}),
        "microphone": (set(), {"TranscriptEvent"}),
        "twitter": (set(), {"MentionEvent"}),
        "cortex": (
            {
                ("ImageEvent", "see"),
                ("TranscriptEvent", "hear"),
                ("MentionEvent", "read"),
                ("Command", "obey"),
            },
            {"Perception", "Command"},
        ),
        "browser": (
            {
                ("ImageEvent", "frame_came"),
                ("Perception", "perceived"),
                ("Track", "tracked"),
                ("Alert", "alerted"),
                ("Command", "command_camera"),
                ("State", "rule_state"),
                ("Clip", "clip_ready"),
                ("Stats", "stats_came"),
                ("ErrorEvent", "error_came"),
            },
            {"ImageEvent", "TranscriptEvent", "Command"},
        ),
        "visits": ({("Perception", "perceive"), ("ImageEvent", "remember")}, {"Track"}),
        "speaker": ({("Perception", "perceive"), ("Track", "visit")}, set()),
        "alerts": (
            {
                ("Perception", "perceive"),
                ("Track", "visit"),
                ("ImageEvent", "remember"),
                ("Command", "obey"),
            },
            {"Alert", "Clip", "State"},
        ),
        "homeassistant": (
            {
                ("Perception", "perceived"),
                ("Track", "visited"),
                ("Alert", "alerted"),
                ("State", "rule_state"),
            },
            {"State"},
        ),
        "metrics": ({("Stats", "stats_came")}, set()),
        "recorder": (set(), set()),  # it hears every topic as bytes (`Node.listen`)
    }


def test_brain_list_shows_the_wiring_with_the_options_it_depends_on() -> None:
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert (
        "reads  see: ImageEvent on PREFIX/senses/camera/+/image (shared in group <group>), "
        "latest per source"
    ) in lines
    assert "reads  obey: Command on PREFIX/commands/camera/<name>, in order" in lines
    assert "writes Alert on PREFIX/alerts/{rule}" in lines


def test_publishing_an_undeclared_event_is_an_error_event_naming_the_fix() -> None:
    broker = MemoryBroker()
    alerts = record(broker, Alert)
    errors = record(broker, ErrorEvent)
    with running(Loud, broker):
        send(broker, TranscriptEvent(source="kitchen", text="hello"))
        [error] = errors.wait(1)
    assert error.reason == (
        "handler hear failed: TypeError: Loud publishes Alert, which it does not declare: "
        "add it to its `publishes`"
    )
    assert alerts.events == []


def test_an_override_without_a_declaration_keeps_its_parents() -> None:
    assert [(d.event, d.method) for d in Parrot.subscribes] == [(Perception, "perceive")]
    broker = MemoryBroker()
    heard = record(broker, TranscriptEvent)
    with running(Parrot, broker):
        send(broker, PERCEPTION)
        [echo] = heard.wait(1)
    assert echo.text == "I see." and echo.source == "door"


def test_keys_of_the_topic_need_a_queue() -> None:
    with pytest.raises(TypeError, match="with_keys needs keep=Queue"):

        class _Bad(Node[NodeOptions]):
            @on(TranscriptEvent, with_keys=True, keep=Latest())
            def hear(self, transcript: TranscriptEvent, keys: dict[str, str]) -> None: ...


@pytest.mark.parametrize(
    ("declaration", "parameters", "message"),
    [
        ("TranscriptEvent", "a: TranscriptEvent, b: int", "make it"),
        ("TranscriptEvent, with_keys=True", "a: TranscriptEvent", "keys"),
        ("TranscriptEvent", "a: Perception", "gets TranscriptEvent"),
        ("TranscriptEvent", "a: list[TranscriptEvent]", "one event"),
        ("ImageEvent, keep=Latest(batch=4)", "a: ImageEvent", "list"),
    ],
)
def test_a_handler_that_does_not_fit_its_declaration_is_refused_when_its_class_is_defined(
    declaration: str, parameters: str, message: str
) -> None:
    source = (
        "from __future__ import annotations\n"
        "class Bad(Node[NodeOptions]):\n"
        f"    @on({declaration})\n"
        f"    def handle(self, {parameters}) -> None: ...\n"
    )
    names = {"Node": Node, "NodeOptions": NodeOptions, "on": on, "Latest": Latest}
    names |= {event.__name__: event for event in (TranscriptEvent, Perception, ImageEvent)}
    with pytest.raises(TypeError, match=message):
        exec(source, names)


def test_a_handler_that_fits_is_accepted_with_or_without_annotations() -> None:
    class _Fine(Node[NodeOptions]):
        @on(ImageEvent, keep=Latest(batch=4))
        def see(self, frames: list[ImageEvent]) -> None: ...

        @on(TranscriptEvent, with_keys=True)
        def hear(self, transcript, keys): ...  # type: ignore[no-untyped-def]

        @on(Perception)
        def perceive(self, perception: Event) -> None: ...

    assert [d.method for d in _Fine.subscribes] == ["see", "hear", "perceive"]
