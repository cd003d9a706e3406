"""The ``brain`` group itself; each command lives in the module of its concern."""

from __future__ import annotations

import os

import click

from brain.cli._options import shared, shared_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options
def main() -> None:
    """An event-driven brain on an MQTT bus: senses, a cortex and effectors.

    The options below work before or after any command's name:
    `brain --set camera.fps=2 run camera` is `brain run camera --set camera.fps=2`.
    """
    # TensorFlow's C++ start-up chatter (CPU features, absl) is not for users; errors
    # still show. Set by the command line, which is the program: `import brain` sets nothing.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # What brain keeps (faces, snapshots, recordings, the outbox's secret URLs) is the
    # user's alone, in every node this starts: files 0600, folders 0700.
    os.umask(0o077)
    shared()  # configures logging with what was given so far
