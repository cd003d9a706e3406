"""Which alert rules are armed: kept in a file, so a restart of the node keeps them.

A rule the file does not know is armed. A rule the file knows but the config no longer
has is forgotten (and its retained state cleared by the node).
"""

from __future__ import annotations

import json
from pathlib import Path

from brain import FatalError
from brain.files import write_whole

ARMED, DISARMED, REMOVED = "armed", "disarmed", "removed"


class Arming:
    def __init__(self, path: Path, rules: list[str]) -> None:
        self._path = path
        try:
            known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError) as error:
            raise FatalError(
                f"cannot read the armed rules in {path} ({error}); delete it to arm every "
                "rule, or choose another file with --set alerts.armed_file=FILE"
            ) from None
        self.forgotten = sorted(set(known) - set(rules))
        self._armed = {rule: bool(known.get(rule, True)) for rule in rules}

    def armed(self, rule: str) -> bool:
        return self._armed[rule]

    def knows(self, rule: str) -> bool:
        return rule in self._armed

    def set(self, rule: str, armed: bool) -> None:
        """Arm or disarm ``rule``; on disk before this returns."""
        self._armed[rule] = armed
        self.save()

    def save(self) -> None:
        write_whole(self._path, json.dumps(self._armed, indent=1).encode())

    def states(self) -> dict[str, str]:
        return {rule: ARMED if armed else DISARMED for rule, armed in self._armed.items()}
