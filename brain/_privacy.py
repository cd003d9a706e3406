"""No telemetry: a home camera never phones home, and neither do brain's dependencies.

Of what brain loads, only OpenVINO and its quantizer NNCF report usage: each
imports ``openvino_telemetry``, which sends events to Google Analytics unless
the user opted out on that machine (it is off only where ``CI=true``). Marking
that package as absent makes each use its own stub, which sends nothing; nothing
else needs it. Call ``no_telemetry()`` before importing such a dependency.
"""

from __future__ import annotations

import sys

#: Packages whose only job is to report usage; none of them is ever imported.
TELEMETRY_PACKAGES = ("openvino_telemetry",)


def no_telemetry() -> None:
    """Make the telemetry packages unimportable (``import`` raises ``ImportError``)."""
    for package in TELEMETRY_PACKAGES:
        sys.modules[package] = None  # type: ignore[assignment]
