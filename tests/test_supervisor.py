"""`brain run` as a user runs it: restarts, giving up, and a clean stop with no orphans."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from brain.processes import RestartPolicy
from tests.support import EXAMPLES, TEST_PLUGINS, Broker, NodeProcess, Recorder, topic_is


def run_nodes(broker: Broker, start: Callable[..., NodeProcess], *args: str) -> NodeProcess:
    return start(
        "--mqtt",
        broker.url,
        "--plugins-dir",
        str(EXAMPLES),
        "--plugins-dir",
        str(TEST_PLUGINS),
        *args,
    )


def pids_of(process: NodeProcess) -> list[int]:
    return [int(pid) for pid in re.findall(r'"pid": (\d+)', process.log())] or [
        int(pid) for pid in re.findall(r"pid=(\d+)", process.log())
    ]


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split()[2] != "Z"  # a zombie is dead, merely not reaped yet


def test_a_crashing_node_is_restarted_then_given_up_on(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    console = ("--log-format", "console")
    run = run_nodes(mosquitto, brain_process, *console, "run", "crashy", "heartbeat")
    run.wait_for_log("crashed; restarting", count=2)
    run.wait_for_log("restarted", count=2)
    # five crashes in a minute: it gives up; the other node keeps running meanwhile.
    run.wait_for_log("giving up", timeout=40)
    assert run.process.poll() is None, "the supervisor left while heartbeat still runs"
    assert "RuntimeError: crashed on purpose" in run.log()
    assert run.stop(signal.SIGINT) == 1, "a node that failed for good makes the exit non-zero"
    # One readable line an event, though its output is a pipe: the nodes' lines too.
    assert "node=heartbeat" in run.log() and "node=crashy" in run.log()
    assert not [line for line in run.output if line.startswith("{")]


def test_backoff_doubles_up_to_its_limit() -> None:
    policy = RestartPolicy(first_delay=0.5, max_delay=4)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 4]


def test_a_node_that_cannot_run_is_not_restarted(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    run = run_nodes(mosquitto, brain_process, "run", "hopeless")
    assert run.process.wait(timeout=20) == 1
    assert "no such device: plug it in" in run.log()
    assert "restarted" not in run.log()


def test_a_node_that_cannot_start_stops_the_whole_run_with_its_reason(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    run = run_nodes(mosquitto, brain_process, "run", "heartbeat", "hopeless")
    assert run.process.wait(timeout=60) == 1
    assert "hopeless cannot start: no such device: plug it in" in run.log()
    assert "--keep-going" in run.log()
    children = pids_of(run)
    assert len(children) == 2 and not [pid for pid in children if is_alive(pid)]


def test_keep_going_keeps_the_others_running(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
) -> None:
    beats = record(mosquitto, "brain/senses/microphone/heart/#")
    run = run_nodes(mosquitto, brain_process, "run", "heartbeat", "hopeless", "--keep-going")
    run.wait_for_log("cannot run; not restarting it", timeout=60)
    already = len(beats.matching(topic_is("brain/senses/microphone/heart/#")))
    beats.wait_for(topic_is("brain/senses/microphone/heart/#"), count=already + 1, timeout=60)
    assert run.process.poll() is None
    assert run.stop(signal.SIGINT) == 1, "a node that failed for good makes the exit non-zero"


def test_ctrl_c_stops_every_node_within_5_s_and_leaves_no_orphan(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
) -> None:
    status = record(mosquitto, "brain/status/#")
    run = run_nodes(mosquitto, brain_process, "run", "heartbeat", "echo")
    status.wait_for(lambda _t, p: p == b"online", count=2)
    children = pids_of(run)
    assert len(children) == 2 and all(is_alive(pid) for pid in children)

    began = time.monotonic()
    code = run.stop(signal.SIGINT)
    took = time.monotonic() - began
    assert code == 0
    assert took < 5, f"stopping took {took:.1f} s"
    assert not [pid for pid in children if is_alive(pid)]
    status.wait_for(lambda t, p: p == b"stopped", count=2)
    # Logs of all nodes come out whole, each line with its node.
    lines = [line for line in run.log().splitlines() if line.strip()]
    assert all('"node": ' in line for line in lines), lines


def test_children_die_with_a_killed_supervisor(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
) -> None:
    status = record(mosquitto, "brain/status/#")
    run = run_nodes(mosquitto, brain_process, "run", "heartbeat")
    status.wait_for(topic_is("brain/status/heartbeat"))
    children = pids_of(run)
    run.stop(signal.SIGKILL)  # no chance to clean up: the kernel must do it
    deadline = time.monotonic() + 5
    while [pid for pid in children if is_alive(pid)]:
        assert time.monotonic() < deadline, "a node outlived its supervisor"
        time.sleep(0.05)


def test_a_killed_supervisor_leaves_no_helper_of_a_node_behind(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    run = run_nodes(mosquitto, brain_process, "run", "keeper")
    run.wait_for_log("helper started")
    [helper] = [int(pid) for pid in re.findall(r'"helper_pid": (\d+)', run.log())]
    assert is_alive(helper)
    run.stop(signal.SIGKILL)  # the supervisor dies; its node, then the node's helper
    deadline = time.monotonic() + 30
    while is_alive(helper):
        assert time.monotonic() < deadline, "a node's helper outlived the node"
        time.sleep(0.05)


def test_set_values_reach_the_nodes_out_of_sight_of_ps(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess]
) -> None:
    run = run_nodes(mosquitto, brain_process, "run", "keeper", "--set", "keeper.stats_interval=7")
    run.wait_for_log("helper started")
    [node] = pids_of(run)
    argv = Path(f"/proc/{node}/cmdline").read_bytes().split(b"\0")
    assert b"--set" not in argv and not [a for a in argv if b"stats_interval" in a]
    environment = Path(f"/proc/{node}/environ").read_bytes().split(b"\0")
    assert b"BRAIN_KEEPER_STATS_INTERVAL=7" in environment


def test_nodes_start_from_a_folder_with_brain_and_schemas_folders_in_it(
    mosquitto: Broker, record: Callable[..., Recorder], tmp_path: Path
) -> None:
    for shadow in ("brain", "schemas"):  # `brain schema --out schemas` makes the second
        (tmp_path / shadow).mkdir()
        (tmp_path / shadow / "__init__.py").write_text("raise ImportError('the wrong one')\n")
    seen = record(mosquitto, "brain/status/#")
    brain = Path(sys.executable).with_name("brain")  # the command a user types
    run = subprocess.Popen(
        [str(brain), "--mqtt", mosquitto.url, "--plugins-dir", str(EXAMPLES), "run", "heartbeat"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        seen.wait_for(lambda t, p: t == "brain/status/heartbeat" and p == b"online", timeout=60)
    finally:
        run.terminate()
        run.wait(timeout=30)
