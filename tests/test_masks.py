"""Masks: what is found where a mask lies is left out, by where it stands."""

from __future__ import annotations

from brain.images import masked_area, unmasked
from schemas import Box, Label

ROAD = [(0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)]  # the lower half of the view


def found(label: str, x: int, y: int, width: int, height: int) -> Label:
    return Label(label=label, score=0.8, box=Box(x=x, y=y, width=width, height=height))


def test_a_thing_standing_in_a_mask_is_left_out_by_where_its_feet_are() -> None:
    car_on_the_road = found("car", 100, 300, 200, 100)  # its bottom edge: y 400, masked
    person_on_the_path = found("person", 300, 50, 50, 150)  # its feet: y 200, not masked
    tall_tree_shadow = found("person", 500, 100, 40, 300)  # reaches into it: feet at 400
    guess = Label(label="golden retriever", score=0.9)  # no box: not placed, so kept
    kept = unmasked(
        [car_on_the_road, person_on_the_path, tall_tree_shadow, guess],
        [ROAD],
        width=640,
        height=480,
    )
    assert kept == [person_on_the_path, guess]


def test_the_masked_area_is_drawn_in_the_frames_proportions() -> None:
    for width, height in ((640, 480), (160, 120)):
        area = masked_area([ROAD], width=width, height=height)
        assert area.shape == (height, width)
        assert area[height - 1].all() and not area[0].any()
        assert abs(area.mean() - 0.5) < 0.02
