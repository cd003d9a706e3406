"""NanoDet's outputs become boxes: a crowd is bounded, a window maps back to the frame."""

from __future__ import annotations

import numpy as np

from brain.cortex._detections import (
    CENTRES,
    MAX_BOXES,
    REG_MAX,
    SIDE,
    Window,
    detections,
    network_input,
    window_for,
)
from schemas import Box

CLASSES = 80


def outputs(scores_at: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Scores with the given cells scoring ``person``, and sides of one stride each."""
    scores = np.zeros((len(CENTRES), CLASSES), np.float32)
    for cell, score in scores_at.items():
        scores[cell, 0] = score
    sides = np.full((len(CENTRES), 4, REG_MAX + 1), -10.0, np.float32)
    sides[:, :, 1] = 10.0  # each side: one stride from the cell's centre
    return scores, sides.reshape(len(CENTRES), -1)


def test_a_crowd_of_thousands_of_candidates_gives_at_most_max_boxes() -> None:
    scores, sides = outputs({cell: 0.9 for cell in range(len(CENTRES))})
    found = detections(scores, sides, Window(0, 0, 1.0), min_score=0.4)
    assert 0 < len(found) <= MAX_BOXES


def test_a_box_is_mapped_back_from_the_window_to_the_frame() -> None:
    cell = 10  # on the stride-8 grid: centre (84, 4)
    scores, sides = outputs({cell: 0.7})
    [found] = detections(scores, sides, Window(left=100, top=50, scale=0.5), min_score=0.4)
    x, y, stride = CENTRES[cell]
    assert abs(found.left - ((x - stride) / 0.5 + 100)) < 1e-3
    assert abs(found.bottom - ((y + stride) / 0.5 + 50)) < 1e-3
    assert found.kind == 0 and abs(found.score - 0.7) < 1e-6


def test_nothing_over_the_least_score_is_nothing() -> None:
    scores, sides = outputs({5: 0.39})
    assert detections(scores, sides, Window(0, 0, 1.0), min_score=0.4) == []


def test_what_moved_is_looked_at_in_a_window_of_the_networks_side() -> None:
    moved = [Box(x=600, y=40, width=60, height=120)]
    x, y, width, height = window_for(moved, 1280, 720) or (0, 0, 0, 0)
    assert (width, height) == (SIDE, SIDE)
    assert x <= 600 and x + width >= 660 and y <= 40 and y + height >= 160
    assert window_for(moved, 400, 300) is None  # the frame is no bigger than the network
    assert window_for([Box(x=0, y=0, width=1000, height=700)], 1280, 720) is None  # too big
    assert window_for([Box(x=2000, y=900, width=10, height=10)], 1280, 720) is None  # outside
    assert window_for([], 1280, 720) is None and window_for(None, 1280, 720) is None


def test_a_frame_is_scaled_into_the_square_and_the_rest_left_black() -> None:
    frame = np.full((300, 600, 3), 200, np.uint8)
    batch, window = network_input(frame)
    assert batch.shape == (1, 3, SIDE, SIDE) and window.scale == SIDE / 600
    assert (batch[0, :, SIDE // 2 + 10 :, :] == 0).all()  # below the scaled frame
    assert (batch[0, :, :100, :] != 0).all()
