"""Performance scripts: each prints JSON figures against the bare library, same run.

Every benchmark runs in a home of its own (state, caches, Keras models), for itself
and every process it starts: it never touches the user's real home.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from brain.testing import home_environment

_home = Path(tempfile.mkdtemp(prefix="brain-bench-home-"))
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ.update(home_environment(_home))
