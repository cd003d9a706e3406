"""The camera's motion: a still scene costs keep-alive frames only, people walking in are
sent with where they moved, masks hide a tree in the wind, a new scene is seen once.
All on real video: OpenCV's car park (vtest.avi) and tree (tree.avi)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import structlog.testing
from pydantic import ValidationError

from brain.testing import MemoryBroker, running
from brain.testing import record as recording
from schemas import MAX_MASKS, Box, ImageEvent
from senses.camera import Camera
from tests.scenes import empty_car_park, photo, video_frames, walking_in, write_video

#: The whole of the tree video, but for a thin band at its left: the window's frame.
TREE = [[0.15, 0.0], [1.0, 0.0], [1.0, 1.0], [0.15, 1.0]]
EVERYTHING = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def played(
    source: Path, count: int, **options: object
) -> tuple[list[ImageEvent], dict[str, object]]:
    """The frames a camera sends of the first ``count`` frames of ``source`` (played once,
    fast), and its stats once it has read them all."""
    broker = MemoryBroker()
    frames = recording(broker, ImageEvent, source="door")
    settings = {"source": str(source), "name": "door", "fps": 50, "loop": False, **options}
    with running(Camera, broker, options=settings) as camera:
        camera.wait_stopped()
        stats = dict(camera.stats())
    sent = frames.events
    assert int(stats.get("frames") or 0) + int(stats.get("still") or 0) == count
    return sent, stats


def whole(frame: ImageEvent) -> bool:
    """Whether the camera says all of the frame moved (a new scene)."""
    return frame.motion == [Box(x=0, y=0, width=frame.width, height=frame.height)]


def test_a_still_scene_sends_its_first_frame_and_then_nothing_until_keep_alive(
    tmp_path: Path,
) -> None:
    video = write_video(tmp_path / "still.avi", [empty_car_park()] * 30)
    sent, stats = played(video, 30, still_every=600)
    assert len(sent) == 1 and whole(sent[0])  # the first frame: a new scene, all of it
    assert stats["still"] == 29


def test_a_still_scene_sends_keep_alive_frames_that_say_nothing_moved(tmp_path: Path) -> None:
    video = write_video(tmp_path / "still.avi", [empty_car_park()] * 40)
    sent, _ = played(video, 40, still_every=0.1, fps=20)
    assert len(sent) >= 3 and all(frame.motion == [] for frame in sent[1:])


def test_people_walking_into_a_still_scene_are_sent_with_where_they_moved(tmp_path: Path) -> None:
    video = walking_in(tmp_path / "walking.avi", still=20, walking=40)
    sent, stats = played(video, 60, still_every=600)
    assert whole(sent[0]) and int(stats["still"] or 0) >= 19  # the empty car park, once
    moving = [frame for frame in sent[1:] if frame.motion]
    assert len(moving) >= 35  # each frame with people walking
    for frame in moving:
        assert frame.motion is not None
        for region in frame.motion:  # small: people far off, not the whole view
            assert 0 <= region.x < region.right <= frame.width
            assert 0 <= region.y < region.bottom <= frame.height
            assert region.width * region.height < frame.width * frame.height / 4


def test_a_tree_in_the_wind_moves_unless_a_mask_covers_it(tmp_path: Path) -> None:
    video = write_video(tmp_path / "tree.avi", video_frames("tree.avi", 0, 40))
    unmasked, _ = played(video, 40, still_every=600)
    assert len(unmasked) >= 10  # its leaves, whenever a gust comes
    masked, _ = played(video, 40, still_every=600, masks=[TREE])
    assert len(masked) == 1  # its first frame only
    assert masked[0].masks == [[(x, y) for x, y in TREE]]  # the cortex is told them too


def test_a_mask_over_everything_is_said_once_and_only_keep_alive_frames_go(
    tmp_path: Path,
) -> None:
    video = write_video(tmp_path / "tree.avi", video_frames("tree.avi", 0, 30))
    with structlog.testing.capture_logs() as logs:
        sent, _ = played(video, 30, still_every=600, masks=[EVERYTHING])
    said = [entry for entry in logs if "cover the whole frame" in entry["event"]]
    assert len(said) == 1 and len(sent) == 1


def test_a_camera_that_jumps_to_another_scene_sends_it_once_whole(tmp_path: Path) -> None:
    messi = cv2.resize(cv2.cvtColor(photo("messi5.jpg"), cv2.COLOR_RGB2BGR), (768, 576))
    video = write_video(tmp_path / "cut.avi", [empty_car_park()] * 10 + [messi] * 10)
    sent, stats = played(video, 20, still_every=600)
    assert len(sent) == 2 and all(whole(frame) for frame in sent)
    assert stats["still"] == 18


def test_hundreds_of_specks_at_once_are_one_region(tmp_path: Path) -> None:
    """Snow, or a feed breaking up: hundreds of small changes are named as one region."""
    scene = empty_car_park()
    specks = scene.copy()
    for y in range(10, scene.shape[0], 48):
        for x in range(10, scene.shape[1], 48):
            specks[y : y + 12, x : x + 12] = 255
    video = write_video(tmp_path / "snow.avi", [scene] * 3 + [specks])
    sent, _ = played(video, 4, still_every=600)
    assert len(sent) == 2 and sent[1].motion is not None and len(sent[1].motion) == 1


@pytest.mark.parametrize(
    ("masks", "complaint"),
    [
        ([[[0.0, 0.0], [1.0, 1.0]]], "at least 3"),
        ([[[0.0, 0.0], [1.5, 0.0], [0.0, 1.0]]], "less than or equal to 1"),
        ([EVERYTHING] * (MAX_MASKS + 1), f"at most {MAX_MASKS}"),
    ],
)
def test_masks_that_are_not_areas_of_the_frame_are_refused(masks: object, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Camera.Options.model_validate({"masks": masks})
