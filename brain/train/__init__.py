"""Teach the cortex your own classes: `brain train` makes a bundle, `brain export` a small one."""

from brain.train._bases import BASES, Base
from brain.train._dataset import Dataset, DatasetError, scan, split_of
from brain.train._export import export
from brain.train._fit import Schedule
from brain.train._report import Report, Scores
from brain.train._train import TrainOptions, train

__all__ = [
    "BASES",
    "Base",
    "Dataset",
    "DatasetError",
    "Report",
    "Schedule",
    "Scores",
    "TrainOptions",
    "export",
    "scan",
    "split_of",
    "train",
]
