"""The events of the wire contract (see DESIGN.md, "The wire contract")."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, NonNegativeInt, PositiveInt

from schemas._base import Event, SenseEvent, WireModel, schema_field
from schemas._fields import MAX_IMAGE_BYTES, MAX_TEXT_CHARS, Base64Bytes, EventId, TopicName

ImageType = Literal["image/jpeg", "image/png"]
PerceptionKind = Literal["vision", "speech", "mention"]
CommandName = Literal["open", "close", "snapshot", "enrol", "arm", "disarm"]
#: The voice commands a microphone hears with its grammar (``microphone.commands``, the
#: default) and the cortex finds in any transcript: phrase -> the camera's command.
VOICE_COMMANDS: dict[str, CommandName] = {
    "open your eye": "open",
    "close your eye": "close",
    "what do you see": "snapshot",
}
StatValue = float | int | str | bool | None


class Box(WireModel):
    """A region of an image, in pixels from the top-left corner."""

    x: int
    y: int
    width: NonNegativeInt
    height: NonNegativeInt

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


#: A fraction of a frame's width or height, from its top or left edge.
Fraction = Annotated[float, Field(ge=0, le=1)]
#: An area of a frame: its corners in order, in the frame's proportions (so it holds
#: at any resolution).
Polygon = Annotated[list[tuple[Fraction, Fraction]], Field(min_length=3, max_length=64)]
#: The most moving regions and masks a frame carries: enough for any scene, bounded.
MAX_REGIONS = 64
MAX_MASKS = 16


class ImageEvent(SenseEvent):
    """One camera frame. Frames are QoS 0: a lost frame is replaced by the next."""

    TOPIC: ClassVar[str] = "senses/{sense}/{source}/image"
    SENSE: ClassVar[str] = "camera"
    QOS: ClassVar[int] = 0

    schema_id: Literal["brain.image/1"] = schema_field("brain.image/1")
    content_type: ImageType
    data: Base64Bytes = Field(max_length=MAX_IMAGE_BYTES, description="The encoded image.")
    width: PositiveInt
    height: PositiveInt
    seq: NonNegativeInt = Field(description="Frame counter of this source, from 0.")
    motion: list[Box] | None = Field(
        default=None,
        max_length=MAX_REGIONS,
        description="Where the scene moved since the camera's last frames, in this frame's "
        "pixels: [] for a still scene (a keep-alive frame); none: the camera does not say.",
    )
    masks: list[Polygon] = Field(
        default_factory=list,
        max_length=MAX_MASKS,
        description="Areas of the camera's view where nothing is to be seen (a tree, a road): "
        "motion there is left out, and so is what is found there.",
    )


class TranscriptEvent(SenseEvent):
    """What a microphone (or a page's speech recognition) heard."""

    TOPIC: ClassVar[str] = "senses/{sense}/{source}/transcript"
    SENSE: ClassVar[str] = "microphone"

    schema_id: Literal["brain.transcript/1"] = schema_field("brain.transcript/1")
    text: str = Field(max_length=MAX_TEXT_CHARS)
    command: CommandName | None = Field(
        default=None, description="The voice command the phrase was heard as, by a grammar."
    )
    final: bool = True
    confidence: float | None = Field(default=None, ge=0, le=1)
    lang: str = "en"

    def voice_command(self) -> CommandName | None:
        """The camera command this asks for, if any: the one its microphone heard with its
        grammar, else a phrase of ``VOICE_COMMANDS`` in it ("please, what do you see?",
        typed on the page)."""
        if self.command is not None:
            return self.command
        words = " ".join(re.findall(r"[a-z']+", self.text.lower()))
        for phrase, command in VOICE_COMMANDS.items():
            if phrase in words:
                return command
        return None


class MentionEvent(SenseEvent):
    """A social-network mention of the watched account."""

    TOPIC: ClassVar[str] = "senses/{sense}/{source}/mention"
    SENSE: ClassVar[str] = "twitter"

    schema_id: Literal["brain.mention/1"] = schema_field("brain.mention/1")
    tweet_id: str = Field(max_length=64)
    author: str = Field(max_length=100, description="Handle without the @.")
    author_name: str = Field(default="", max_length=200)
    text: str = Field(max_length=MAX_TEXT_CHARS)
    created: AwareDatetime
    url: str


class Label(WireModel):
    label: str
    score: float = Field(ge=0, le=1)
    box: Box | None = None
    distance: float | None = Field(
        default=None,
        ge=0,
        description="On a face's name or 'stranger': the distance to the nearest enrolled "
        "face, which decided it (under the threshold: that person).",
    )


class Perception(Event):
    """What the cortex made of an event; ``text`` can be said or shown as it is."""

    TOPIC: ClassVar[str] = "perceptions/{sense}/{source}"

    schema_id: Literal["brain.perception/1"] = schema_field("brain.perception/1")
    cause: EventId = Field(description="The id of the event this perception came from.")
    sense: TopicName
    kind: PerceptionKind
    labels: list[Label] = Field(default_factory=list, description="Best first.")
    model: str | None = None
    inference_ms: float | None = Field(default=None, ge=0)
    taken: AwareDatetime | None = Field(
        default=None,
        description="When the event perceived was made (a frame: when it was taken): "
        "the order in which a camera's perceptions happened, whichever cortex made them.",
    )
    width: PositiveInt | None = Field(default=None, description="Of the image perceived.")
    height: PositiveInt | None = Field(default=None, description="Of the image perceived.")
    text: str = Field(
        max_length=12_000, description="One short sentence; at most a quoted transcript or post."
    )


class Snapshot(WireModel):
    """A downscaled frame attached to an alert."""

    content_type: ImageType
    data: Base64Bytes = Field(max_length=MAX_IMAGE_BYTES)
    width: PositiveInt
    height: PositiveInt
    scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Snapshot pixels per frame pixel: a label's box times this is where it "
        "is in the snapshot.",
    )


TrackState = Literal["started", "updated", "ended"]
#: Who a person's visit was, besides an enrolled name.
STRANGER = "stranger"
UNIDENTIFIED = "unidentified"


class ZoneTime(WireModel):
    """A zone of the camera's view that a track was in, and for how long in all."""

    zone: TopicName
    seconds: float = Field(ge=0)


class Track(Event):
    """One thing a camera sees (a person, a car) across its frames: a visit. Published
    when it is sure to be there (``started``), when what is known of it changes
    (``updated``), and once it has gone (``ended``, final)."""

    TOPIC: ClassVar[str] = "tracks/{source}"

    schema_id: Literal["brain.track/1"] = schema_field("brain.track/1")
    track: EventId = Field(description="The track's id: the same in each of its events.")
    state: TrackState
    label: str = Field(max_length=64, description="What it is: person, car, dog...")
    score: float = Field(ge=0, le=1, description="Its best detection's score.")
    identity: str | None = Field(
        default=None,
        max_length=64,
        description="A person's: an enrolled name, 'stranger' (faces were told apart and "
        "none matched) or 'unidentified' (no face good enough was seen); none otherwise.",
    )
    faces: NonNegativeInt = Field(default=0, description="Faces told apart in the track.")
    box: Box = Field(description="Where it was last seen, in frame pixels.")
    width: PositiveInt = Field(description="The width of the frame it was last seen in.")
    height: PositiveInt = Field(description="The height of the frame it was last seen in.")
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    zones: list[ZoneTime] = Field(default_factory=list, max_length=MAX_MASKS)
    snapshot: Snapshot | None = Field(
        default=None, description="Its best view so far (largest, sharpest, a face), cropped."
    )
    text: str = Field(max_length=200, description="e.g. 'A stranger is at the frontdoor.'")
    cause: EventId = Field(description="The perception that last changed it.")
    frame: EventId | None = Field(default=None, description="The frame of that perception.")

    @property
    def seconds(self) -> float:
        """How long it has been seen."""
        return (self.last_seen - self.first_seen).total_seconds()


class Alert(Event):
    """A rule fired on a perception."""

    TOPIC: ClassVar[str] = "alerts/{rule}"

    schema_id: Literal["brain.alert/1"] = schema_field("brain.alert/1")
    rule: TopicName
    perception: Perception
    track: Track | None = Field(
        default=None, description="The visit that fired a rule that judges visits."
    )
    snapshot: Snapshot | None = None
    armed: bool = Field(
        default=True, description="False: the rule is disarmed; it saw this, but told nobody."
    )


class Clip(Event):
    """The video around an alert: from a few seconds before it to a few after. It follows
    the alert (which carries the snapshot at once) when the last frame is in."""

    TOPIC: ClassVar[str] = "clips/{rule}"

    schema_id: Literal["brain.clip/1"] = schema_field("brain.clip/1")
    alert: EventId = Field(description="The id of the alert it belongs to.")
    rule: TopicName
    content_type: Literal["video/mp4"] = "video/mp4"
    data: Base64Bytes = Field(max_length=MAX_IMAGE_BYTES, description="The video (H.264).")
    seconds: float = Field(ge=0, description="How long it lasts.")
    moment: float | None = Field(
        default=None, ge=0, description="Seconds into the clip at which the alert fired."
    )
    frames: PositiveInt
    width: PositiveInt
    height: PositiveInt


class Command(Event):
    """An order for a node, e.g. the camera's ``open``, ``close`` or ``snapshot``, the
    cortex's ``enrol`` (this face that the camera saw is NAME), or ``arm`` and ``disarm``
    for an alert rule (``commands/alerts/{rule}``)."""

    #: ``node``: who obeys; ``target``: which of its sources (a camera's name). Both are
    #: the publisher's to give: the payload's ``source`` is who gave the order.
    TOPIC: ClassVar[str] = "commands/{node}/{target}"

    schema_id: Literal["brain.command/1"] = schema_field("brain.command/1")
    command: CommandName
    reason: str = Field(default="", description="Why, e.g. the transcript that asked for it.")
    name: str | None = Field(default=None, max_length=64, description="enrol: who the face is.")
    frame: EventId | None = Field(
        default=None, description="enrol: the id of the frame the face was in."
    )
    box: Box | None = Field(default=None, description="enrol: where the face was in that frame.")


class State(Event):
    """Something a node keeps until it changes, e.g. whether an alert rule is armed;
    retained, so whoever comes later knows it at once."""

    TOPIC: ClassVar[str] = "state/{node}/{name}"
    RETAIN: ClassVar[bool] = True

    schema_id: Literal["brain.state/1"] = schema_field("brain.state/1")
    node: TopicName
    name: TopicName = Field(description="What the state is of, e.g. the rule's name.")
    value: str = Field(max_length=200, description="e.g. armed or disarmed.")
    cause: EventId | None = Field(
        default=None, description="The id of the command that set it, if one did."
    )


class Stats(Event):
    """A node's periodic figures; retained, so a new watcher sees the latest at once."""

    TOPIC: ClassVar[str] = "stats/{node}"
    QOS: ClassVar[int] = 0
    RETAIN: ClassVar[bool] = True

    schema_id: Literal["brain.stats/1"] = schema_field("brain.stats/1")
    node: TopicName
    uptime_s: float = Field(ge=0)
    figures: dict[str, StatValue] = Field(default_factory=dict)
    counters: list[str] = Field(
        default_factory=list,
        description="The figures that only grow (counts since the node started); the others "
        "are readings (queue depth, inference ms, connected).",
    )


class ErrorEvent(Event):
    """An input a node rejected, and why."""

    TOPIC: ClassVar[str] = "errors/{node}"
    QOS: ClassVar[int] = 0

    schema_id: Literal["brain.error/1"] = schema_field("brain.error/1")
    node: TopicName
    reason: str
    topic: str = ""
    cause: str | None = Field(default=None, description="The rejected event's id, if readable.")
    excerpt: str = Field(default="", description="The start of the rejected payload.")


#: Every event of the contract, in the order the docs list them.
EVENTS: tuple[type[Event], ...] = (
    ImageEvent,
    TranscriptEvent,
    MentionEvent,
    Perception,
    Track,
    Alert,
    Clip,
    Command,
    State,
    Stats,
    ErrorEvent,
)
