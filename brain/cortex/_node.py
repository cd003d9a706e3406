"""The cortex: frames become vision perceptions; transcripts and mentions become perceptions too.

Only the newest frame of each camera waits for the model (``Latest``), and the
frames that wait together are classified as one batch, on the node's inbox thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path

from pydantic import Field

from brain._errors import FatalError
from brain._images import DEFAULT_MAX_PIXELS, DecodeError, decode
from brain._inbox import Latest, option
from brain._masks import unmasked
from brain._model import Model
from brain._node import Node, NodeOptions
from brain._plugins import Catalog, PluginError, discover
from brain._wiring import on
from brain.cortex import _language as language
from brain.cortex._detections import CCTV_OBJECTS, MIN_SCORE
from brain.cortex._engines import BATCH, Precision, RuntimeName
from brain.cortex._runtimes import serving_imports
from brain.faces import THRESHOLD
from schemas import (
    Command,
    ImageEvent,
    MentionEvent,
    Perception,
    StatValue,
    TranscriptEvent,
)

#: Frames with faces the cortex keeps (as they came, some 40 KB each) to name a face from.
FRAMES_WITH_FACES = 64


class CortexOptions(NodeOptions):
    model: str = Field(
        default="inception",
        description="A model's name (`brain list`) or the path of a bundle made by `brain train`.",
    )
    weights: Path | None = Field(default=None, description="Weights file for the model.")
    runtime: RuntimeName = Field(
        default="auto",
        description="The engine: auto (the fastest measured here), keras, tflite or openvino.",
    )
    precision: Precision = Field(
        default="float32", description="float32, or float16, dynamic or int8 (faster, rougher)."
    )
    top_k: int = Field(default=5, ge=1, le=100, description="Labels per perception.")
    min_score: float = Field(
        default=MIN_SCORE,
        gt=0,
        lt=1,
        description="The least score a thing found needs to be said (the people model).",
    )
    objects: list[str] = Field(
        default_factory=lambda: list(CCTV_OBJECTS),
        min_length=1,
        description="The COCO classes the people model says; it leaves out the others.",
    )
    batch: int = Field(default=BATCH, ge=1, le=256, description="Most frames classified at once.")
    max_wait_ms: float = Field(
        default=5.0, ge=0, description="How long a first frame waits for others to share its batch."
    )
    max_pixels: int = Field(
        default=DEFAULT_MAX_PIXELS, ge=1, description="Bigger images are refused before decoding."
    )
    group: str = Field(
        default="cortex",
        description="Shared-subscription group: cortexes in "
        "one group share the work; empty: every cortex gets everything.",
    )
    camera_for: dict[str, str] = Field(
        default_factory=dict,
        description="Microphone source -> the camera its voice commands reach; a microphone "
        "not named here commands no camera (a page commands itself, through its browser node).",
    )
    gallery: Path | None = Field(
        default=None,
        description="The faces model's face library (`brain faces add`) "
        "[default: ~/.local/state/brain/faces].",
    )
    face_threshold: float = Field(
        default=THRESHOLD,
        gt=0,
        le=2,
        description="A face nearer than this to an enrolled one is that person (dlib's "
        "published 0.6: 99.38% on LFW); lower: fewer mix-ups, more strangers.",
    )


def model_type(options: CortexOptions, catalog: Catalog) -> type[Model]:
    """The model the options name: a bundle directory, or an installed or drop-in model."""
    if Path(options.model).is_dir():
        from brain.cortex.bundle import Bundle

        return Bundle
    try:
        return catalog.model(options.model)
    except PluginError as error:
        raise FatalError(str(error)) from None


def load_model(options: CortexOptions, catalog: Catalog) -> Model:
    """The model the options name, loaded."""
    found = model_type(options, catalog)
    with serving_imports():
        return found.load(options)


class Cortex(Node[CortexOptions]):
    """Classifies frames with a model, and turns what is heard and read into perceptions."""

    name = "cortex"
    Options = CortexOptions
    publishes = (Perception, Command)

    def start(self) -> None:
        self.model = load_model(self.options, self.catalog or discover())
        self.log.info("model ready", model=self.model.describe())
        # The last frames in which faces were found, so one can be named from an alert.
        self._with_faces: OrderedDict[str, ImageEvent] = OrderedDict()
        self._inference_ms = 0.0
        self._last_batch = 0

    @on(
        ImageEvent,
        keep=Latest(per="source", batch=option("batch"), gather_ms=option("max_wait_ms")),
        shared=option("group"),
    )
    def see(self, frames: list[ImageEvent]) -> None:
        """Classify the newest frame of each camera that waits, as one batch."""
        self.stats.add("frames_in", len(frames))
        self._classify(frames)

    @on(TranscriptEvent, shared=option("group"))
    def hear(self, transcript: TranscriptEvent) -> None:
        self._perceived(language.heard(transcript))
        command = transcript.voice_command()
        if command is None:
            return
        # Only where the user said: anyone allowed to publish a transcript could otherwise
        # close any camera by calling their microphone by its name.
        camera = self.options.camera_for.get(transcript.source)
        if camera is None:
            self.stats.add("commands_for_no_camera")
            return
        order = Command(source=transcript.source, command=command, reason=transcript.text)
        self.publish(order, node="camera", target=camera)
        self.stats.add("commands")

    @on(MentionEvent, shared=option("group"))
    def read(self, mention: MentionEvent) -> None:
        self._perceived(language.read(mention))

    @on(Command, node="cortex", with_keys=True)
    def obey(self, command: Command, keys: dict[str, str]) -> None:
        """``enrol``: the face at ``box`` in the recent ``frame`` is ``name`` (from the page)."""
        where = self.topics.of(command, **keys)
        if command.command != "enrol" or not (command.name and command.frame and command.box):
            self.bus.report_error(
                f"the cortex takes `enrol` with a name, a frame and a box, not {command.command!r}",
                topic=where,
                cause=command.id,
            )
            return
        frame = self._with_faces.get(command.frame)
        try:
            if frame is None:
                raise ValueError(
                    f"frame {command.frame} is not among the last {FRAMES_WITH_FACES} frames "
                    "this cortex found faces in; name the face from a newer alert"
                )
            done = self.model.enrol(command.name, decode(frame), command.box)
        except (ValueError, DecodeError) as error:
            self.bus.report_error(str(error), topic=where, cause=command.id)
            return
        self.stats.add("enrolled")
        self.log.info(done, frame=command.frame, source=command.source)

    def _perceived(self, perception: Perception) -> None:
        self.publish(perception)
        self.stats.add("perceptions")

    def _classify(self, frames: list[ImageEvent]) -> None:
        ready = []
        for frame in frames:
            try:
                pixels = decode(
                    frame, max_pixels=self.options.max_pixels, size=self.model.input_size
                )
            except DecodeError as error:
                self.bus.report_error(
                    f"frame {frame.seq} of {frame.source}: {error}",
                    topic=self.topics.of(frame),
                    cause=frame.id,
                )
                continue
            ready.append((frame, pixels))
        if not ready:
            return
        began = time.perf_counter()
        results = self.model.classify_moving(
            [pixels for _, pixels in ready], [frame.motion for frame, _ in ready]
        )
        took_ms = (time.perf_counter() - began) * 1000
        self._inference_ms = (
            took_ms if not self._inference_ms else (0.8 * self._inference_ms + 0.2 * took_ms)
        )
        self._last_batch = len(ready)
        for (frame, pixels), labels in zip(ready, results, strict=True):
            best = labels[: self.options.top_k] if self.model.cut_to_top_k else labels
            if frame.masks:
                best = unmasked(best, frame.masks, width=pixels.shape[1], height=pixels.shape[0])
            if not best:  # e.g. no face: nothing to say
                self.stats.add("nothing_seen")
                continue
            perception = Perception(
                source=frame.source,
                cause=frame.id,
                sense=ImageEvent.SENSE,
                kind="vision",
                labels=best,
                model=self.model.name,
                inference_ms=round(took_ms, 2),
                text=language.sentence(best),
                taken=frame.ts,
                width=frame.width,
                height=frame.height,
            )
            self.publish(perception)
            if any(label.box is not None for label in best):
                self._remember(frame)
        self.stats.add("classified", len(ready))

    def _remember(self, frame: ImageEvent) -> None:
        self._with_faces[frame.id] = frame
        while len(self._with_faces) > FRAMES_WITH_FACES:
            self._with_faces.popitem(last=False)

    def current_stats(self) -> dict[str, StatValue]:
        return {
            "model": self.model.name,
            "batch_size": self._last_batch,
            "inference_ms": round(self._inference_ms, 2),
        }
