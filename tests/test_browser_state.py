"""What the page's node keeps of the bus between requests: bounded, whatever arrives."""

from __future__ import annotations

import json
from pathlib import Path

from brain import testing
from effectors.browser._health import MAX_ERRORS, MAX_NODES, Health
from effectors.browser._live import KEPT_FRAMES, MAX_CAMERAS, Cameras
from effectors.browser._visits import MAX_FALSE_ALARMS, FalseAlarms
from schemas import ErrorEvent, Stats


def test_the_cameras_keep_their_newest_frames_and_no_more_than_their_bound() -> None:
    cameras = Cameras()
    frames = [
        testing.frame((0, 0, 200), seq=n).model_copy(update={"id": f"f{n}"}) for n in range(20)
    ]
    states = [cameras.add(frame) for frame in frames]
    assert states[-1] is not None and states[-1]["id"] == "f19" and states[-1]["online"]
    newest = cameras.newest("door")
    assert newest is not None and newest.id == "f19"
    assert cameras.frame("door", f"f{20 - KEPT_FRAMES}") is not None
    assert cameras.frame("door", f"f{19 - KEPT_FRAMES}") is None  # gone: only the last ones
    for n in range(MAX_CAMERAS + 5):
        cameras.add(frames[0].model_copy(update={"source": f"cam{n}"}))
    assert len(cameras.states()) == MAX_CAMERAS  # made-up sources cannot fill memory
    assert cameras.newest("nowhere") is None


def test_the_health_says_each_nodes_presence_and_figures_within_bounds() -> None:
    health = Health()
    health.status("cortex", "online")
    health.status("camera/door", "offline")
    health.stats(
        Stats(source="cortex", node="cortex", uptime_s=61.4,
              figures={"inference_ms": 31.5, "received": 9, "model": "faces"})
    )  # fmt: skip
    nodes = {node["node"]: node for node in health.nodes()}
    assert nodes["cortex"] == {
        "node": "cortex",
        "status": "online",
        "uptime_s": 61,
        "key": {"inference_ms": 31.5, "received": 9},
        "figures": {"model": "faces"},
    }
    assert nodes["camera/door"]["status"] == "offline"
    health.status("camera/door", "")  # a cleared status: gone for good
    assert "camera/door" not in {node["node"] for node in health.nodes()}

    for n in range(MAX_NODES + 10):
        health.status(f"node{n}", "online")
        health.error(ErrorEvent(source="cortex", node="cortex", reason=f"bad {n}"))
    assert len(health.nodes()) == MAX_NODES
    errors = health.errors()
    assert len(errors) == MAX_ERRORS and errors[0]["reason"] == f"bad {MAX_NODES + 9}"


def test_false_alarms_are_kept_across_restarts_and_a_damaged_file_starts_afresh(
    tmp_path: Path,
) -> None:
    path = tmp_path / "false-alarms.json"
    marks = FalseAlarms(path)
    marks.mark("visit-1", True)
    marks.mark("visit-2", True)
    marks.mark("visit-2", False)
    again = FalseAlarms(path)
    assert "visit-1" in again and "visit-2" not in again and len(again) == 1
    path.write_text("{not json")
    assert len(FalseAlarms(path)) == 0
    years = tmp_path / "years.json"  # as if marked over the years
    years.write_text(json.dumps({f"v{n}": n for n in range(MAX_FALSE_ALARMS + 3)}))
    bounded = FalseAlarms(years)
    bounded.mark("newest", True)
    assert len(bounded) == MAX_FALSE_ALARMS and "newest" in bounded and "v0" not in bounded
