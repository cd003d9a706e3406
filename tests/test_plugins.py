from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from brain.plugins import NODE_GROUP, PluginError, discover
from tests.support import (
    EXAMPLES,
    TEST_PLUGINS,
    Broker,
    NodeProcess,
    Recorder,
    brain_command,
    topic_is,
)


def test_a_drop_in_plugin_is_found_and_runs(
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
) -> None:
    transcripts = record(mosquitto, "brain/senses/#")
    run = brain_process(
        "--mqtt",
        mosquitto.url,
        "--plugins-dir",
        str(EXAMPLES),
        "--set",
        "heartbeat.interval=0.1",
        "run",
        "heartbeat",
    )
    beats = transcripts.wait_for(topic_is("brain/senses/microphone/heart/transcript"), count=3)
    assert b'"text":"beat 1"' in beats[0][1]
    assert run.stop() == 0
    assert '"event": "beat"' in run.log(), "the user sees it beat"


def test_a_broken_plugin_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import a_module_that_does_not_exist\n")
    (tmp_path / "quits.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "echo.py").write_text((TEST_PLUGINS / "echo.py").read_text())
    catalog = discover(plugins_dirs=[tmp_path])
    drop_ins = [p.name for p in catalog.plugins.values() if p.origin.startswith("plugin ")]
    assert drop_ins == ["echo"]
    assert {"speaker", "alerts"} <= set(catalog.names(NODE_GROUP)), "built-ins still load"
    reasons = {Path(b.origin.removeprefix("plugin ")).name: b.reason for b in catalog.broken}
    assert reasons == {
        "broken.py": "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'",
        "empty.py": "defines no brain Node or Model class with a `name`",
        "quits.py": "SystemExit: 3",
    }
    listing = brain_command("--plugins-dir", str(tmp_path), "list")
    assert listing.returncode == 0
    assert "echo" in listing.stdout and "broken.py: ModuleNotFoundError" in listing.stdout


def test_an_installed_entry_point_is_found_like_a_built_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real distribution on sys.path: what `pip install brain-echo` would leave behind.
    (tmp_path / "brain_echo.py").write_text((TEST_PLUGINS / "echo.py").read_text())
    dist = tmp_path / "brain_echo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brain-echo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[brain.nodes]\necho = brain_echo:Echo\nwrong = brain_echo:Echo\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    catalog = discover()
    assert catalog.find(NODE_GROUP, "echo").origin == "brain-echo (brain_echo:Echo)"
    assert catalog.node("echo").name == "echo"
    with pytest.raises(PluginError, match="its `name` must be the entry point's name"):
        catalog.node("wrong")


def test_unknown_nodes_and_options_stop_brain_run_before_anything_starts() -> None:
    nowhere = "mqtt://127.0.0.1:9"  # refused before anything starts: no broker is needed
    unknown = brain_command("--mqtt", nowhere, "run", "camrea")
    assert unknown.returncode == 2
    assert "there is no node called 'camrea'" in unknown.stderr
    bad_option = brain_command(
        "--mqtt",
        nowhere,
        "--plugins-dir",
        str(EXAMPLES),
        "--set",
        "heartbeat.interval=soon",
        "run",
        "heartbeat",
    )
    assert bad_option.returncode == 2
    assert "heartbeat.interval = 'soon' (from --set heartbeat.interval=soon)" in bad_option.stderr
    orphan_section = brain_command(
        "--mqtt",
        nowhere,
        "--plugins-dir",
        str(EXAMPLES),
        "--set",
        "speakr.voice=en",
        "run",
        "heartbeat",
    )
    assert "options are given for 'speakr', which is not a node" in orphan_section.stderr


def test_running_a_plugin_that_failed_to_load_says_why(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def oops(:\n")  # a syntax error
    catalog = discover(plugins_dirs=[tmp_path])
    with pytest.raises(PluginError) as refused:
        catalog.node("broken")
    assert "there is no node called 'broken'" in str(refused.value)
    assert "broken.py failed to load (SyntaxError" in str(refused.value)
