"""The speaker: says what the brain perceives, out loud, with espeak-ng."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from brain import Effector, NodeOptions, Queue, on, option
from effectors._cooldown import Cooldown
from effectors._voice import Espeak, Mouth, choose_mouth
from schemas import Perception, PerceptionKind, StatValue


class SpeakerOptions(NodeOptions):
    language: str = Field(default="en", description="espeak-ng language, e.g. en, en-us, fr.")
    voice: str = Field(default="", description="espeak-ng voice variant, e.g. f3 or m1.")
    rate: int = Field(default=160, ge=80, le=450, description="Words per minute.")
    kinds: list[PerceptionKind] = Field(
        default=["vision", "mention"], description="Which perceptions to say."
    )
    min_score: float = Field(default=0.3, ge=0, le=1, description="Least score of the top label.")
    cooldown: float = Field(
        default=10.0, ge=0, description="Seconds before the same sentence or top label again."
    )
    stale_after: float = Field(
        default=5.0, gt=0, description="Seconds after which a sentence not yet said is dropped."
    )
    queue: int = Field(default=3, ge=1, description="Sentences that may wait to be said.")
    output: Path | None = Field(default=None, description="Write WAV files here instead.")
    espeak: str = Field(default="espeak-ng", description="The espeak-ng program.")
    max_chars: int = Field(
        default=300,
        ge=20,
        le=10_000,
        description="Longer texts are cut (at a word) to this many characters: a sentence "
        "is short, and a whole page of text would keep espeak-ng busy for minutes.",
    )


class Speaker(Effector[SpeakerOptions]):
    """Says perceptions out loud, never the same thing twice within a cooldown."""

    name = "speaker"
    Options = SpeakerOptions

    def start(self) -> None:
        options = self.options
        espeak = Espeak.find(
            binary=options.espeak, language=options.language, voice=options.voice, rate=options.rate
        )
        self._mouth: Mouth = choose_mouth(espeak, options.output)
        self._cooldown = Cooldown(options.cooldown)
        self.log.info("speaking", to=self._mouth.description)

    # Latest wins: when speech lags, the oldest waiting sentence goes first, and one that
    # waited past `stale_after` is not said at all.
    @on(
        Perception,
        keep=Queue(size=option("queue"), max_age=option("stale_after"), dropped="dropped_backlog"),
    )
    def perceive(self, perception: Perception) -> None:
        if perception.kind not in self.options.kinds:
            return
        if perception.labels and perception.labels[0].score < self.options.min_score:
            return
        keys: list[tuple[str, str]] = [("sentence", perception.text)]
        if perception.labels:
            # Who, when faces were told apart (each is a "person" first): the family and
            # then a stranger at the door are two things to say, not one.
            labels = perception.labels
            told = sorted({label.label for label in labels if label.distance is not None})
            keys.append(("label", ",".join(told) or labels[0].label))
        if not self._cooldown.acquire(*keys):
            self.stats.add("repeats_skipped")
            return
        text = perception.text
        if len(text) > self.options.max_chars:
            self.stats.add("cut_short")
            text = text[: self.options.max_chars].rsplit(" ", 1)[0] + "…"
        try:
            self._mouth.say(text)
        except Exception as error:  # one sentence that fails must not silence the rest
            self.stats.add("speech_errors")
            self.log.error("could not speak", text=perception.text, reason=str(error))
            return
        self.stats.add("spoken")

    def current_stats(self) -> dict[str, StatValue]:
        return {"speaks_to": self._mouth.description}
