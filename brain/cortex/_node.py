"""The cortex: frames become vision perceptions; transcripts and mentions become perceptions too.

Frames arrive on the bus thread and only wait (latest per source); the model
runs on the node's own thread, so inference never blocks the network loop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from pydantic import Field

from brain._images import DEFAULT_MAX_PIXELS, DecodeError, decode
from brain._model import Model
from brain._node import FatalError, Node, NodeOptions
from brain._plugins import Catalog, PluginError, discover
from brain._topics import Topics
from brain._voice import voice_command
from brain.cortex._engines import Precision, RuntimeName
from brain.cortex._frames import LatestFrames
from brain.cortex._language import heard, read, sentence
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
    batch: int = Field(default=8, ge=1, le=256, description="Most frames classified at once.")
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


def load_model(options: CortexOptions, catalog: Catalog) -> Model:
    """The model the options name: a bundle directory, or an installed or drop-in model."""
    if Path(options.model).is_dir():
        from brain.cortex.bundle import Bundle

        return Bundle.load(options)
    try:
        model_type = catalog.model(options.model)
    except PluginError as error:
        raise FatalError(str(error)) from None
    return model_type.load(options)


class Cortex(Node[CortexOptions]):
    """Classifies frames with a model, and turns what is heard and read into perceptions."""

    name = "cortex"
    Options = CortexOptions
    subscribes = (ImageEvent, TranscriptEvent, MentionEvent, Command)
    publishes = (Perception, Command)

    def start(self) -> None:
        self.model = load_model(self.options, self.catalog or discover())
        self.log.info("model ready", model=self.model.describe())
        self._frames: LatestFrames[ImageEvent] = LatestFrames()
        # The last frames in which faces were found, so one can be named from an alert.
        self._with_faces: OrderedDict[str, ImageEvent] = OrderedDict()
        self._with_faces_lock = threading.Lock()
        self._inference_ms = 0.0
        self._last_batch = 0
        share = self._shared
        self.bus.subscribe(share(self.topics.sense("camera", kind="image")), ImageEvent, self._see)
        self.bus.subscribe(
            share(self.topics.sense("microphone", kind="transcript")), TranscriptEvent, self._hear
        )
        self.bus.subscribe(
            share(self.topics.sense("twitter", kind="mention")), MentionEvent, self._read
        )
        self.bus.subscribe(self.topics.command("cortex"), Command, self._commanded)

    def _shared(self, topic_filter: str) -> str:
        group = self.options.group
        return Topics.shared(group, topic_filter) if group else topic_filter

    # -- on the bus thread: quick --------------------------------------------------

    def _see(self, frame: ImageEvent) -> None:
        self.stats.add("frames_in")
        self._frames.put(frame.source, frame)

    def _hear(self, transcript: TranscriptEvent) -> None:
        self._perceived("microphone", heard(transcript))
        command = voice_command(transcript)
        if command is None:
            return
        # Only where the user said: anyone allowed to publish a transcript could otherwise
        # close any camera by calling their microphone by its name.
        camera = self.options.camera_for.get(transcript.source)
        if camera is None:
            self.stats.add("commands_for_no_camera")
            return
        order = Command(source=transcript.source, command=command, reason=transcript.text)
        self.bus.publish(self.topics.command("camera", camera), order)
        self.stats.add("commands")

    def _read(self, mention: MentionEvent) -> None:
        self._perceived("twitter", read(mention))

    def _commanded(self, command: Command) -> None:
        """``enrol``: the face at ``box`` in the recent ``frame`` is ``name`` (from the page)."""
        if command.command != "enrol" or not (command.name and command.frame and command.box):
            self.bus.report_error(
                f"the cortex takes `enrol` with a name, a frame and a box, not {command.command!r}",
                topic=self.topics.command("cortex", command.source),
                cause=command.id,
            )
            return
        with self._with_faces_lock:
            frame = self._with_faces.get(command.frame)
        try:
            if frame is None:
                raise ValueError(
                    f"frame {command.frame} is not among the last {FRAMES_WITH_FACES} frames "
                    "this cortex found faces in; name the face from a newer alert"
                )
            done = self.model.enrol(command.name, decode(frame), command.box)
        except (ValueError, DecodeError) as error:
            self.bus.report_error(
                str(error), topic=self.topics.command("cortex", command.source), cause=command.id
            )
            return
        self.stats.add("enrolled")
        self.log.info(done, frame=command.frame, source=command.source)

    def _perceived(self, sense: str, perception: Perception) -> None:
        self.bus.publish(self.topics.perception(sense, perception.source), perception)
        self.stats.add("perceptions")

    # -- on the node's thread: the model ---------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            frames = self._frames.take(
                batch=self.options.batch, max_wait=self.options.max_wait_ms / 1000, timeout=0.2
            )
            if frames:
                self._classify(frames)

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
                    topic=self.topics.sense("camera", frame.source, "image"),
                    cause=frame.id,
                )
                continue
            ready.append((frame, pixels))
        if not ready:
            return
        began = time.perf_counter()
        results = self.model.classify([pixels for _, pixels in ready])
        took_ms = (time.perf_counter() - began) * 1000
        self._inference_ms = (
            took_ms if not self._inference_ms else (0.8 * self._inference_ms + 0.2 * took_ms)
        )
        self._last_batch = len(ready)
        for (frame, _), labels in zip(ready, results, strict=True):
            best = labels[: self.options.top_k] if self.model.cut_to_top_k else labels
            if not best:  # e.g. no face: nothing to say
                self.stats.add("nothing_seen")
                continue
            perception = Perception(
                source=frame.source,
                cause=frame.id,
                sense="camera",
                kind="vision",
                labels=best,
                model=self.model.name,
                inference_ms=round(took_ms, 2),
                text=sentence(best),
            )
            self.bus.publish(self.topics.perception("camera", frame.source), perception)
            if any(label.box is not None for label in best):
                self._remember(frame)
        self.stats.add("classified", len(ready))

    def _remember(self, frame: ImageEvent) -> None:
        with self._with_faces_lock:
            self._with_faces[frame.id] = frame
            while len(self._with_faces) > FRAMES_WITH_FACES:
                self._with_faces.popitem(last=False)

    def figures(self) -> dict[str, StatValue]:
        return {
            "model": self.model.name,
            "dropped": self._frames.dropped,
            "queue_depth": self._frames.depth(),
            "batch_size": self._last_batch,
            "inference_ms": round(self._inference_ms, 2),
        }
