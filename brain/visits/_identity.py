"""Who a person's visit is: the faces told apart in its frames, put together.

Each face the cortex told apart is a vote: for the enrolled name it matched, or for
``stranger``. The visit is whoever has the most votes; a name wins a tie, since a face
seen badly (turned, blurred, far) misses its own name more often than a stranger's face
matches someone enrolled. With no vote it is ``unidentified``: nobody showed a face
good enough to tell. The votes are kept for the visit's whole life, so the answer may
change while it lasts (a face turns up) and holds once it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import STRANGER, UNIDENTIFIED, Label


@dataclass(slots=True)
class Votes:
    """The faces told apart in one visit: how many for each name (or ``stranger``),
    and the best distance each got."""

    counts: dict[str, int] = field(default_factory=dict)
    nearest: dict[str, float] = field(default_factory=dict)

    def add(self, face: Label) -> None:
        """Count one face, as the cortex told it apart (its label and distance)."""
        self.counts[face.label] = self.counts.get(face.label, 0) + 1
        if face.distance is not None:
            self.nearest[face.label] = min(self.nearest.get(face.label, 2.0), face.distance)

    @property
    def faces(self) -> int:
        return sum(self.counts.values())

    def who(self) -> str:
        """An enrolled name, ``stranger`` or ``unidentified``."""
        if not self.counts:
            return UNIDENTIFIED
        names = [name for name in self.counts if name != STRANGER]
        if not names:
            return STRANGER
        # Most votes, then the nearest match: two names for one visit is the rarer case.
        best = max(names, key=lambda name: (self.counts[name], -self.nearest.get(name, 2.0)))
        return best if self.counts[best] >= self.counts.get(STRANGER, 0) else STRANGER
