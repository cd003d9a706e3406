"""Test models: name the dominant colour channel of a frame. Real, deterministic, no weights."""

from __future__ import annotations

import time
from typing import Any

from brain import RGB, Model
from schemas import Label


class Colours(Model):
    """Scores red, green and blue by their share of the frame's brightness."""

    name = "colours"
    input_size = (32, 32)

    @classmethod
    def load(cls, options: Any) -> Colours:
        return cls()

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        results = []
        for frame in frames:
            means = frame.reshape(-1, 3).mean(axis=0)
            total = float(means.sum()) or 1.0
            shares = {
                name: float(value) / total
                for name, value in zip(("red", "green", "blue"), means, strict=True)
            }
            ranked = sorted(shares.items(), key=lambda item: -item[1])
            results.append([Label(label=label, score=score) for label, score in ranked])
        return results


class SlowColours(Colours):
    """The same, taking half a second a batch: a model that cannot keep up."""

    name = "slow-colours"

    def classify(self, frames: list[RGB]) -> list[list[Label]]:
        time.sleep(0.5)
        return super().classify(frames)
