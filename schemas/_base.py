"""The envelope every event shares: schema id, id, timestamp and source."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas._fields import EventId, TopicName, new_id, utcnow


def schema_field(schema_id: str) -> Any:
    """The ``schema`` field of an event class: its id, required to match on the wire."""
    return Field(default=schema_id, alias="schema", description="Schema id of this event.")


class WireModel(BaseModel):
    """A model that travels as JSON: immutable, bytes as base64."""

    model_config = ConfigDict(frozen=True, val_json_bytes="base64")


class Event(WireModel):
    """Base of every payload on the bus.

    Readers ignore fields they do not know (``extra="ignore"``), so a newer writer
    can add fields without breaking older readers; ``schema`` changes when a
    field's meaning does, and a reader refuses an id it was not written for.
    """

    model_config = ConfigDict(
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    #: Where it travels, under the prefix: each ``{key}`` comes from the publisher's
    #: keyword, else the event's field of that name, else ``topic_defaults()``.
    TOPIC: ClassVar[str] = ""
    #: MQTT delivery of this event, from the contract's table.
    QOS: ClassVar[int] = 1
    RETAIN: ClassVar[bool] = False

    schema_id: str = Field(alias="schema")
    id: EventId = Field(
        default_factory=new_id, description="Unique; letters, digits, '-' and '_' (1 to 64)."
    )
    ts: AwareDatetime = Field(default_factory=utcnow, description="UTC, RFC 3339.")
    source: TopicName

    @classmethod
    def topic_defaults(cls) -> dict[str, str]:
        """Keys of ``TOPIC`` that a publisher or a subscriber may leave out."""
        return {}

    @classmethod
    def schema_name(cls) -> str:
        """The id written in ``schema``, e.g. ``brain.image/1``."""
        return str(cls.model_fields["schema_id"].default)

    def to_json(self) -> bytes:
        """The wire form: UTF-8 JSON bytes, straight from pydantic-core."""
        return self.__pydantic_serializer__.to_json(self)


class SenseEvent(Event):
    """An event a sense publishes on ``{prefix}/senses/{sense}/{source}/{kind}``; ``sense``
    is the publishing node's (``Sense.sense``), ``SENSE`` by default."""

    #: The sense that publishes it, unless another says otherwise: ``camera`` for images.
    SENSE: ClassVar[str] = ""

    @classmethod
    def topic_defaults(cls) -> dict[str, str]:
        return {"sense": cls.SENSE}
