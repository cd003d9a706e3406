"""Visits: each camera's detections joined into tracks (one visit, one track), who a
person's visit is, the zones it stood in and its best view."""

from brain.visits._identity import Votes
from brain.visits._looks import Look, alike, look_of
from brain.visits._node import Visits, VisitsOptions, sentence
from brain.visits._tracker import CameraTracks, Changes, Detection, Frame, Trail

__all__ = [
    "CameraTracks",
    "Changes",
    "Detection",
    "Frame",
    "Look",
    "Trail",
    "Visits",
    "VisitsOptions",
    "Votes",
    "alike",
    "look_of",
    "sentence",
]
