"""``import brain`` is free of side effects: a library changes nothing until it is used."""

from __future__ import annotations

import json
import subprocess
import sys


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
