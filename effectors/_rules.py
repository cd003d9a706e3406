"""Alert rules: which labels, how sure, where, and who hears about it."""

from __future__ import annotations

import difflib
from typing import Any, Literal

import apprise
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas import Perception, TopicName, Track


class Rule(BaseModel):
    """One ``[[alerts.rules]]`` table of brain.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TopicName
    labels: list[str] = Field(
        min_length=1,
        description="Any of these labels fires the rule; on a visit, its label (person, "
        "car...) or who it is (an enrolled name, stranger, unidentified).",
    )
    per: Literal["auto", "visit", "frame"] = Field(
        default="auto",
        description="What the rule judges: visits (once each), frames (each perception, "
        "smoothed over a window, with a cooldown), or auto: visits where the camera's "
        "model finds things with boxes, frames where it only names them.",
    )
    zone: TopicName | None = Field(
        default=None, description="Visits only: fire only once the visit stands in this zone."
    )
    min_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Visits only: fire once it has been there this long (in the zone, if "
        "one is given): loitering, or time for a face to show before 'unidentified' counts.",
    )
    min_score: float = Field(default=0.6, ge=0, le=1)
    sources: list[str] = Field(default_factory=list, description="Only these; empty: all.")
    window: int = Field(
        default=3,
        ge=1,
        description="Fire when the median score of the last N perceptions "
        "of a source reaches min_score, so one odd frame does not.",
    )
    cooldown: float = Field(default=60.0, ge=0, description="Seconds of quiet per source.")
    snapshot: bool = Field(default=True, description="Attach the frame that was perceived.")
    targets: list[str] = Field(default_factory=list, description="apprise URLs.")
    ignore: list[str] = Field(
        default_factory=list,
        description="Enrolled names (the family): their visits fire nothing, nor a frame "
        "in which everyone is one of them; anyone else beside them (a stranger) still does.",
    )

    @field_validator("targets")
    @classmethod
    def _apprise_knows(cls, targets: list[str]) -> list[str]:
        for target in targets:
            if apprise.Apprise.instantiate(target) is None:
                raise ValueError(
                    f"{target!r} is not a notification URL apprise understands "
                    "(e.g. json://host/path, ntfy://topic, tgram://token/chat)"
                )
        return targets

    def watches(self, event: Perception | Track) -> bool:
        return not self.sources or event.source in self.sources

    def judges_frame(self, perception: Perception) -> bool:
        """Whether this perception is judged as a frame: a visit is judged instead when
        the rule is per visit, or auto and the model boxed what it found."""
        boxed = any(label.box is not None for label in perception.labels)
        return self.watches(perception) and (
            self.per == "frame" or (self.per == "auto" and not boxed)
        )

    def fires_on(self, visit: Track) -> bool:
        """Whether the visit holds the rule's condition (now: it may come to later)."""
        if self.per == "frame" or not self.watches(visit) or visit.score < self.min_score:
            return False
        who = visit.identity
        if who in self.ignore or not {visit.label, who} & set(self.labels):
            return False
        if self.zone is None:
            return visit.seconds >= self.min_seconds
        return any(z.zone == self.zone and z.seconds >= self.min_seconds for z in visit.zones)

    def score(self, perception: Perception) -> float:
        """The best score of this rule's labels in the perception; 0 when none is there,
        or when everyone in it is someone the rule ignores."""
        if self.ignore and _only(perception, self.ignore):
            return 0.0
        return max(
            (label.score for label in perception.labels if label.label in self.labels), default=0.0
        )


def _only(perception: Perception, names: list[str]) -> bool:
    """Whether every person in the perception was told apart and is one of ``names``."""
    people = sum(label.label == "person" for label in perception.labels)
    told = [label.label for label in perception.labels if label.distance is not None]
    return people > 0 and people == len(told) and all(name in names for name in told)


#: With no rules configured: a person seen at any camera, by the `faces` model or a
#: retrained `people` class.
DEFAULT_RULES = (Rule(name="person", labels=["person", "people"]),)


def validate_rules(value: Any) -> Any:
    """Validate rule by rule, so an error names the rule it is about."""
    if not isinstance(value, list):
        return value
    rules, names = [], set()
    for index, raw in enumerate(value, start=1):
        name = raw.get("name", f"number {index}") if isinstance(raw, dict) else f"number {index}"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as error:
            raise ValueError(f"rule {name!r}: {_first_problem(error)}") from None
        if rule.name in names:
            raise ValueError(f"rule {name!r} is defined twice; give each rule its own name")
        names.add(rule.name)
        rules.append(rule)
    return rules


def _first_problem(error: ValidationError) -> str:
    # An unknown key first: a misspelt one (lables) also makes its right one missing.
    problems = sorted(error.errors(include_url=False), key=lambda p: p["type"] != "extra_forbidden")
    problem = problems[0]
    where = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        close = difflib.get_close_matches(where, Rule.model_fields, n=1)
        meant = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {where!r}{meant}; accepted: {', '.join(Rule.model_fields)}"
    return f"{where}: {problem['msg']}"
