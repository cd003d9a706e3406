"""The training report: how well the new layer does on photos it never saw, and where it errs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass
class Scores:
    accuracy: float | None
    precision: dict[str, float | None]
    recall: dict[str, float | None]
    confusion: list[list[int]]  # rows: true class, columns: predicted
    misclassified: list[dict[str, object]]


@dataclass
class Report:
    classes: list[str]
    images: dict[str, int]
    scores: Scores
    skipped: dict[str, str]
    warnings: list[str]
    bottlenecks: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        scores = self.scores
        accuracy = "n/a (no test images)" if scores.accuracy is None else f"{scores.accuracy:.1%}"
        lines = [
            f"test accuracy: {accuracy} on {self.images.get('test', 0)} images "
            f"({self.images.get('train', 0)} trained on, {self.images.get('validation', 0)} "
            "for validation)",
            f"bottlenecks: {self.bottlenecks.get('computed', 0)} computed, "
            f"{self.bottlenecks.get('cached', 0)} from the cache",
        ]
        for name in self.classes:
            lines.append(
                f"  {name}: precision {_percent(scores.precision[name])}, "
                f"recall {_percent(scores.recall[name])}"
            )
        lines += [
            f"misclassified: {len(scores.misclassified)}",
            f"skipped files: {len(self.skipped)}",
        ]
        lines += [f"warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def write(self, folder: Path) -> None:
        """report.json, report.txt, confusion.png and curves.png into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        (folder / "report.txt").write_text(self.summary() + "\n", encoding="utf-8")
        _plot(self, folder)


def judge(
    classes: list[str],
    truth: NDArray[np.int64],
    probabilities: NDArray[np.float32],
    paths: list[Path],
) -> Scores:
    """Accuracy, per-class precision and recall, the confusion matrix, the mistakes."""
    predicted = probabilities.argmax(axis=1) if len(truth) else np.zeros(0, np.int64)
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    precision: dict[str, float | None] = {}
    recall: dict[str, float | None] = {}
    for n, name in enumerate(classes):
        said, were = confusion[:, n].sum(), confusion[n].sum()
        precision[name] = float(confusion[n, n] / said) if said else None
        recall[name] = float(confusion[n, n] / were) if were else None
    mistakes: list[dict[str, object]] = [
        {
            "file": str(path),
            "class": classes[t],
            "predicted": classes[p],
            "score": float(probabilities[i, p]),
        }
        for i, (path, t, p) in enumerate(zip(paths, truth, predicted, strict=True))
        if t != p
    ]
    accuracy = float((predicted == truth).mean()) if len(truth) else None
    return Scores(accuracy, precision, recall, confusion.tolist(), mistakes)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _plot(report: Report, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files, never a window
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 5))
    axes.imshow(np.array(report.scores.confusion), cmap="Blues")
    axes.set_xticks(range(len(report.classes)), report.classes, rotation=45, ha="right")
    axes.set_yticks(range(len(report.classes)), report.classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for (row, column), count in np.ndenumerate(np.array(report.scores.confusion)):
        axes.text(column, row, str(count), ha="center", va="center")
    axes.set_title("Test images")
    figure.tight_layout()
    figure.savefig(folder / "confusion.png")
    pyplot.close(figure)

    figure, (loss, accuracy) = pyplot.subplots(1, 2, figsize=(10, 4))
    for name, values in report.history.items():
        (accuracy if "accuracy" in name else loss).plot(values, label=name)
    loss.set_title("loss")
    accuracy.set_title("accuracy")
    for axes in (loss, accuracy):
        axes.set_xlabel("epoch")
        axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "curves.png")
    pyplot.close(figure)
