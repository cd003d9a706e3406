"""Models are plugins too: the cortex serves whichever the user names.

A model is a class registered under the ``brain.models`` entry points (or
defined in a drop-in file) whose ``load`` builds it from the cortex's options,
or raises ``FatalError`` with the one sentence that says how to get what is
missing. It never classifies with weights it was not given.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from schemas import Box, Label

#: A decoded frame: height x width x 3, RGB, uint8.
RGB = NDArray[np.uint8]


class Model(abc.ABC):
    """A classifier: a batch of RGB frames in, labels (best first) for each out."""

    name: ClassVar[str] = ""
    #: (width, height) frames are resized to before ``classify``; None: as they come.
    input_size: tuple[int, int] | None = None
    #: Its labels rank guesses, of which the cortex keeps ``top_k``; False: each label is
    #: something found (a face), and all are kept.
    cut_to_top_k: ClassVar[bool] = True

    @classmethod
    @abc.abstractmethod
    def load(cls, options: Any) -> Model:
        """Build the model from the cortex's options (weights, top_k...)."""

    @abc.abstractmethod
    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        """Labels for each frame, best first."""

    def classify_moving(
        self, frames: list[RGB], moved: list[list[Box] | None]
    ) -> list[list[Label]]:
        """Labels for each frame, told where in it the scene moved (None: not told). A
        model that can look where things moved does; the others classify whole frames."""
        return self.classify(frames)

    def describe(self) -> str:
        """Where its weights come from, for the log."""
        return self.name

    def enrol(self, name: str, frame: RGB, box: Box) -> str:
        """Remember that the face at ``box`` in ``frame`` is ``name``; say what was done.
        Only a model that tells faces apart can; a ``ValueError`` says why not."""
        raise ValueError(
            f"the {self.name} model does not tell faces apart: run the cortex with "
            "--set cortex.model=faces to name faces"
        )

    @classmethod
    def labels(cls, options: Any) -> frozenset[str] | None:
        """Every label it can give with these options, when it can tell without loading
        its network; None when it cannot say. A rule on another label never fires."""
        return None

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """Whether it can run now, and where its weights are or how to get them."""
        return True, "needs no weights"

    @classmethod
    def pull(cls) -> str:
        """Fetch its weights where there is network; return where they are."""
        return "nothing to download"


def ranked(probabilities: NDArray[np.float32], names: list[str], top_k: int) -> list[list[Label]]:
    """The ``top_k`` best labels of each row of class probabilities, best first."""
    best = np.argsort(-probabilities, axis=1)[:, :top_k]
    return [
        [Label(label=names[i], score=float(row[i])) for i in indices]
        for row, indices in zip(probabilities, best, strict=True)
    ]
