"""The speaker: says what the brain perceives, out loud, with espeak-ng."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from pydantic import Field

from brain import Effector, NodeOptions, Queue, on, option
from effectors._cooldown import Cooldown
from effectors._voice import Espeak, Mouth, choose_mouth
from schemas import UNIDENTIFIED, Perception, PerceptionKind, StatValue, Track

#: Visits remembered as said: bounded, whatever comes.
_REMEMBERED = 1024


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
    visits: bool = Field(
        default=True,
        description='Say each visit once ("Alice is at the front door."), not each frame, '
        "at a camera whose visits the visits node tracks.",
    )
    visit_wait: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a visit may go without a face before it is said as 'Someone'.",
    )
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
        self._said: OrderedDict[str, None] = OrderedDict()  # the visits said
        # While the visits node is online, a frame of things in boxes is said as its visit.
        self._visits_online = False
        if options.visits:
            self.listen(self.topics.status("visits"), self._visits_status)
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
        if self._visits_online and any(label.box for label in perception.labels):
            self.stats.add("left_to_visits")  # its visit is said, once
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
        self._say(perception.text)

    @on(Track, keep=Queue(size=option("queue"), max_age=option("stale_after")))
    def visit(self, track: Track) -> None:
        """Say a visit once: when it is known who it is, or has gone a while (or ended)
        without a face."""
        if not self.options.visits:
            return
        faceless = track.identity == UNIDENTIFIED
        waited = track.seconds >= self.options.visit_wait or track.state == "ended"
        if track.track in self._said or (faceless and not waited):
            return
        _remember(self._said, track.track)
        self._say(track.text)

    def _visits_status(self, _topic: str, payload: bytes) -> None:
        self._visits_online = payload == b"online"

    def _say(self, text: str) -> None:
        said = text
        if len(text) > self.options.max_chars:
            self.stats.add("cut_short")
            said = text[: self.options.max_chars].rsplit(" ", 1)[0] + "…"
        try:
            self._mouth.say(said)
        except Exception as error:  # one sentence that fails must not silence the rest
            self.stats.add("speech_errors")
            self.log.error("could not speak", text=text, reason=str(error))
            return
        self.stats.add("spoken")

    def current_stats(self) -> dict[str, StatValue]:
        return {"speaks_to": self._mouth.description}


def _remember(seen: OrderedDict[str, None], key: str) -> None:
    seen[key] = None
    seen.move_to_end(key)
    if len(seen) > _REMEMBERED:
        seen.popitem(last=False)
