"""``brain run``: every node in its own process, restarted when it crashes.

Children run in their own session, so a Ctrl-C reaches only the supervisor,
which then stops them in order; and each asks the kernel to kill it should the
supervisor die without a word (PR_SET_PDEATHSIG), so nothing is left orphaned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

import structlog

from brain._children import own_session_dying_with_parent
from brain._logging import LineRelay
from brain._runner import EXIT_FATAL

log = structlog.get_logger()


@dataclass(frozen=True, kw_only=True)
class ChildSpec:
    """How to start one supervised process."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    #: Infrastructure (the embedded broker) starts first and stops after the nodes.
    infrastructure: bool = False
    #: Called after the first start, before the next child starts (e.g. wait for a port).
    wait_ready: Callable[[], None] | None = None


@dataclass(frozen=True, kw_only=True)
class RestartPolicy:
    first_delay: float = 0.5
    max_delay: float = 30.0
    #: Give up on a node that crashed this many times within ``window`` seconds.
    max_crashes: int = 5
    window: float = 60.0
    #: Time a node gets to stop after SIGTERM before it is killed.
    grace: float = 4.0
    #: A node that cannot run at all (``FatalError``) this soon after the start of the
    #: run stops the whole run: the user is still there to read why. Later, the others
    #: keep running without it.
    startup: float = 30.0
    stop_all_when_one_cannot_start: bool = True

    def delay(self, crashes: int) -> float:
        return min(self.max_delay, self.first_delay * 2.0 ** max(0, crashes - 1))


class _Child:
    def __init__(self, spec: ChildSpec, relay: LineRelay) -> None:
        self.spec = spec
        self.relay = relay
        self.process: subprocess.Popen[str] | None = None
        self.crashes: deque[float] = deque()
        self.restart_at: float | None = None
        self.failed = False
        self.finished = False
        #: The last error the node logged: why it could not run, when it could not.
        self.last_error = ""
        self._reader: threading.Thread | None = None

    @property
    def settled(self) -> bool:
        return self.failed or self.finished

    def start(self) -> None:
        self.restart_at = None
        self.process = subprocess.Popen(
            list(self.spec.argv),
            env={**os.environ, **self.spec.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=own_session_dying_with_parent,
        )
        self._reader = threading.Thread(
            target=self._relay_output,
            args=(self.process,),
            name=f"relay-{self.spec.name}",
            daemon=True,
        )
        self._reader.start()

    def _relay_output(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            event = self.relay.relay(self.spec.name, line)
            if event is not None and event.get("level") == "error":
                self.last_error = str(event.get("reason") or event["event"])

    def signal(self, signum: int) -> None:
        """Signal the child's whole process group, so its own children go too."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def wait_output(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2)


class Supervisor:
    """Starts the children, restarts crashed ones, and stops all of them on a signal."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        policy: RestartPolicy | None = None,
        relay: LineRelay | None = None,
    ) -> None:
        relay = relay or LineRelay()
        self.policy = policy or RestartPolicy()
        self._children = [_Child(spec, relay) for spec in children]
        self._stop = threading.Event()
        self._started_at = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, ready: threading.Event | None = None) -> int:
        """Supervise until a signal or until every node is done; return the exit status."""
        self._install_signal_handlers()
        try:
            self._start_all()
        except BaseException:
            self._stop_all()
            raise
        self._started_at = time.monotonic()
        if ready is not None:
            ready.set()
        main = [c for c in self._children if not c.spec.infrastructure]
        while not self._stop.is_set() and not all(c.settled for c in main):
            now = time.monotonic()
            for child in self._children:
                self._tend(child, now)
            self._stop.wait(0.1)
        self._stop_all()
        failed = [c.spec.name for c in self._children if c.failed]
        if failed:
            log.error("finished with failed nodes", failed=failed)
            return 1
        return 0

    def _start_all(self) -> None:
        for child in self._children:
            child.start()
            log.info("started", child=child.spec.name, pid=child.process and child.process.pid)
            if child.spec.wait_ready is not None:
                child.spec.wait_ready()

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping all nodes", signal=signal.Signals(signum).name)
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handle)
            signal.signal(signal.SIGTERM, handle)

    def _tend(self, child: _Child, now: float) -> None:
        if child.settled:
            return
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.start()
                log.info(
                    "restarted", child=child.spec.name, pid=child.process and child.process.pid
                )
            return
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            return
        child.signal(signal.SIGKILL)  # whatever the dead node left running in its group
        child.wait_output()
        self._on_exit(child, code, now)

    def _on_exit(self, child: _Child, code: int, now: float) -> None:
        name = child.spec.name
        if code == 0:
            child.finished = True
            log.info("finished", child=name)
            return
        if code == EXIT_FATAL:
            child.failed = True
            if self.policy.stop_all_when_one_cannot_start and (
                now - self._started_at <= self.policy.startup
            ):
                log.error(
                    f"{name} cannot start: {child.last_error or 'see its reason above'}; "
                    "stopping the other nodes (brain run --keep-going keeps them running)",
                    child=name,
                )
                self._stop.set()
                return
            log.error("cannot run; not restarting it (its reason is above)", child=name)
            return
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.policy.window:
            child.crashes.popleft()
        if len(child.crashes) >= self.policy.max_crashes:
            child.failed = True
            log.error(
                f"crashed {len(child.crashes)} times within {self.policy.window:g} s; "
                "giving up: fix the error above and run it again",
                child=name,
                exit_code=code,
            )
            return
        delay = self.policy.delay(len(child.crashes))
        child.restart_at = now + delay
        log.warning("crashed; restarting", child=name, exit_code=code, restart_in_s=delay)

    def _stop_all(self) -> None:
        nodes = [c for c in self._children if not c.spec.infrastructure]
        infrastructure = [c for c in self._children if c.spec.infrastructure]
        for group in (nodes, infrastructure):
            self._stop_group(group)

    def _stop_group(self, children: list[_Child]) -> None:
        for child in children:
            child.restart_at = None
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.policy.grace
        for child in children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("did not stop in time; killing it", child=child.spec.name)
                child.signal(signal.SIGKILL)
                child.process.wait()
            child.wait_output()
