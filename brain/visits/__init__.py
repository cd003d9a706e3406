"""Visits: each camera's detections joined into tracks (one visit, one track), who a
person's visit is, the zones it stood in and its best view."""

from brain.visits._identity import Votes
from brain.visits._node import Visits, VisitsOptions, sentence
from brain.visits._tracker import CameraTracks, Changes, Detection, Frame, Trail

__all__ = [
    "CameraTracks",
    "Changes",
    "Detection",
    "Frame",
    "Trail",
    "Visits",
    "VisitsOptions",
    "Votes",
    "sentence",
]
