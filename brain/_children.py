"""Processes that do not outlive their parent, however it ends (a kill -9 included)."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies. For ``preexec_fn``: a
    node's own helpers (espeak-ng, say) go with the node, which goes with ``brain run``."""
    # Loaded here, in the child between fork and exec: `import brain` loads no library.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def own_session_dying_with_parent() -> None:
    """``die_with_parent`` in a session of its own: a Ctrl-C on the terminal reaches only
    the supervisor, which then stops its children in order."""
    os.setsid()
    die_with_parent()
