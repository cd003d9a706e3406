"""The ``brain`` command: one module per group of commands, registered on ``main``."""

from brain.cli import _alerts, _bus, _demo, _faces, _models, _recordings, _run  # noqa: F401
from brain.cli._group import main

__all__ = ["main"]
