"""``import brain`` is free of side effects: a library changes nothing until it is used."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import brain


def test_importing_brain_sets_no_environment_and_loads_no_engine() -> None:
    probe = (
        "import json, os, sys; before = dict(os.environ); "
        "import brain, brain.cortex, brain.train, brain.testing; "
        "print(json.dumps({'changed': sorted(set(os.environ.items()) ^ set(before.items())), "
        "'loaded': sorted(m for m in ('tensorflow', 'keras', 'openvino', 'ai_edge_litert') "
        "if m in sys.modules)}))"
    )
    found = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True
        ).stdout
    )
    assert found == {"changed": [], "loaded": []}


def test_every_error_brain_raises_on_purpose_is_a_brain_error() -> None:
    """One base, so a caller (the command line) catches them all with their sentences."""
    found = []
    for package in ("brain", "senses", "effectors"):
        for module in pkgutil.walk_packages(
            importlib.import_module(package).__path__, prefix=f"{package}."
        ):
            for name, value in vars(importlib.import_module(module.name)).items():
                defined_here = getattr(value, "__module__", None) == module.name
                if name.endswith("Error") and isinstance(value, type) and defined_here:
                    found.append(value)
    assert len(found) >= 14
    assert all(issubclass(error, brain.BrainError) for error in found), [
        error for error in found if not issubclass(error, brain.BrainError)
    ]
