"""A real Mosquitto of a test's own, and a home of its own: for the tests (and
benchmarks) that prove what the broker in memory cannot (an ACL, a broker restart, a
node in another process)."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from brain._broker import embedded_config, find_mosquitto, wait_until_listening

#: Where a program keeps what it writes into a user's home.
HOME_VARIABLES = (
    "HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "KERAS_HOME",
    "MPLCONFIGDIR",
)


def home_environment(folder: Path) -> dict[str, str]:
    """The variables that put every one of a user's state, cache and model folders
    under ``folder``: a test never touches the real home."""
    return {variable: str(folder / variable.lower()) for variable in HOME_VARIABLES}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """Mosquitto on a free port of 127.0.0.1, started by ``with`` (or ``start``) and
    stopped after; a test may stop it and start it again on the same port.

    ``config``: the text of a mosquitto.conf whose ``listener`` line is ``{port}``
    (``production_config`` in brain's tests fills in the shipped one); by default the
    open, in-memory broker ``brain run`` embeds; ``extra`` lines are added to it. It is
    written into ``folder``.
    """

    def __init__(
        self, folder: Path, *, config: str | None = None, extra: str = "", port: int | None = None
    ) -> None:
        self.folder = folder
        self.port = port or free_port()
        self._config = (config or embedded_config("127.0.0.1", self.port)) + extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:{port}``: for ``--mqtt``, or ``BrokerUrl.parse``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.folder / "mosquitto.conf"
        config.write_text(self._config.replace("{port}", str(self.port)), encoding="utf-8")
        argv = [find_mosquitto(), "-c", str(config)]
        self.process = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
        wait_until_listening("127.0.0.1", self.port)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop it (``SIGKILL``: as a crash would) and wait until it has gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
