"""A home camera never phones home: no dependency that brain loads reports usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytest.importorskip("openvino")
pytest.importorskip("tensorflow")

# Runs in a fresh interpreter, as a user's cortex would: every host name looked up
# while brain converts, quantizes and runs a model on OpenVINO is noted.
_CONVERT_ON_OPENVINO = """
import json, socket, sys, threading
asked = []
lookup = socket.getaddrinfo
def spy(host, *args, **kwargs):
    asked.append(str(host))
    return lookup(host, *args, **kwargs)
socket.getaddrinfo = spy

import keras, numpy as np
from pathlib import Path
from brain.cortex._engines import ENGINES

def network():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
images = lambda: np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)
for precision in ("float32", "int8"):  # int8: quantized by NNCF
    ENGINES["openvino"].build(network, precision, images, Path(sys.argv[1]))(images())
import concurrent.futures.thread as pools
pools._python_exit()  # what the interpreter does at exit: senders finish their sends
print(json.dumps({
    "telemetry": sys.modules.get("openvino_telemetry") is not None,
    "quantized_by_nncf": "nncf" in sys.modules,
    "asked": [host for host in asked if host not in ("localhost", "127.0.0.1", "::1")],
}))
"""


def test_openvino_and_its_quantizer_send_no_telemetry(tmp_path: Path) -> None:
    # OpenVINO reports usage unless CI=true or the user opted out in their home: neither here.
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env["HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT_ON_OPENVINO, str(tmp_path / "converted")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"telemetry": False, "quantized_by_nncf": True, "asked": []}
    assert not (tmp_path / "home" / "intel").exists(), "OpenVINO kept a telemetry client id"
