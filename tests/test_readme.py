"""The README's command lines are the tests' examples: each `brain` line in its shell
blocks (and in the Makefile's recipes) parses with the real command line, and the
node options it sets are options the nodes accept; each `make` target it names exists."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from brain._config import cache_dir
from brain.cli import main
from brain.cli._options import shared
from brain.cli._run import _check_nodes, _expanded
from brain.config import load_settings
from brain.plugins import discover
from brain.testing import free_port
from tests.support import ROOT, Broker, NodeProcess

_OPERATORS = {"&&", "||", ";", "|", "&"}


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


def command_lines(script: str) -> list[list[str]]:
    """Each simple command of a shell script as its words: continuation lines joined,
    comments dropped, `&&` and the like splitting commands."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        commands.append([])
        for word in shlex.split(line, comments=True):
            if word in _OPERATORS:
                commands.append([])
            else:
                commands[-1].append(word)
    return [command for command in commands if command]


#: The pages a user reads: the README, the docs, the production broker's.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "mosquitto/README.md"]


def pages_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def readme_commands() -> list[list[str]]:
    """The command lines of every page a user reads."""
    return [words for block in shell_blocks(pages_text()) for words in command_lines(block)]


def makefile_brain_commands() -> list[list[str]]:
    recipes = re.findall(r"^\t\$\(BIN\)/(brain .*)$", (ROOT / "Makefile").read_text(), re.M)
    return [shlex.split(recipe) for recipe in recipes]


BRAIN_LINES = [w for w in readme_commands() + makefile_brain_commands() if w[0] == "brain"]
MAKE_LINES = [w for w in readme_commands() if w[0] == "make"]


def parse(words: list[str]) -> click.Context:
    """Parse a command line as `brain` would, down to the command it names, and run
    nothing of it; a usage error raises as it would for the user."""
    reached: list[click.Context] = []
    with pytest.MonkeyPatch.context() as patch:
        # Groups still resolve their subcommands; no command's body runs.
        patch.setattr(click.Command, "invoke", lambda _command, context: reached.append(context))
        main.main(words[1:], prog_name="brain", standalone_mode=False)
    return reached[-1]


def test_the_readme_has_command_lines_to_check() -> None:
    assert len(BRAIN_LINES) >= 25
    assert any(words[1:3] == ["run", "camera"] and "--set" in words for words in BRAIN_LINES)


@pytest.mark.parametrize("words", BRAIN_LINES, ids=shlex.join)
def test_each_brain_line_parses_and_sets_real_options(
    words: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the clone
    context = parse(words)
    with context:
        options = shared()
        if context.command.name in ("run", "node"):
            nodes = context.params.get("nodes") or (context.params["name"],)
            _check_nodes(options.settings(), options.catalog(), list(nodes))
        else:
            options.settings()


@pytest.mark.parametrize("words", MAKE_LINES, ids=shlex.join)
def test_each_make_target_exists(words: list[str]) -> None:
    done = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_options_before_and_after_the_command_mean_the_same() -> None:
    before = parse(["brain", "--set", "camera.fps=2", "--prefix", "home", "run", "camera"])
    after = parse(["brain", "run", "camera", "--set", "camera.fps=2", "--prefix", "home"])
    for context in (before, after):
        with context:
            settings = shared().settings()
            assert settings.prefix == "home"
            assert settings.set_values["camera"]["fps"][0] == 2


def test_options_given_at_both_levels_add_up_and_the_later_one_wins() -> None:
    words = ["brain", "--set", "camera.fps=2", "--prefix", "a", "run", "camera"]
    with parse([*words, "--set", "camera.name=door", "--prefix", "b"]):
        settings = shared().settings()
    assert settings.prefix == "b"
    assert set(settings.set_values["camera"]) == {"fps", "name"}


def test_a_misspelt_option_after_the_command_is_still_an_error() -> None:
    with pytest.raises(click.NoSuchOption, match="--sett"):
        parse(["brain", "run", "camera", "--sett", "camera.fps=2"])


def test_every_subcommand_shows_the_shared_options_in_its_help() -> None:
    commands = (["run"], ["node"], ["watch"], ["list"], ["models", "pull"], ["faces", "add"])
    for words in commands:
        argv = [sys.executable, "-m", "brain", *words, "--help"]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0, done.stderr
        for option in ("--set", "--mqtt", "--config", "--plugins-dir", "--prefix"):
            assert option in done.stdout, (words, option)


def test_the_readme_says_what_setup_costs_on_its_first_screen() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:45])
    assert re.search(r"\d+(\.\d+)? GB", first_screen)
    assert "minutes" in first_screen
    assert "headless" in first_screen


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_the_docs_node_and_its_test_run_as_written() -> None:
    text = (ROOT / "docs" / "writing-a-node.md").read_text(encoding="utf-8")
    blocks = {block.split("\n")[0]: block for block in python_blocks(text)}
    namespace: dict[str, object] = {}
    exec(blocks["from brain import Node, NodeOptions, on"], namespace)  # the Doorbell
    exec(blocks["from brain.testing import MemoryBroker, record, running, send"], namespace)
    test = namespace["test_the_doorbell_rings"]
    assert callable(test)
    test()


def test_the_readme_is_one_page_and_links_only_to_what_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"


#: Every ```toml block of the pages, a list item's (indented) too.
TOML_BLOCKS = [
    textwrap.dedent(block)
    for block in re.findall(r"^[ \t]*```toml\n(.*?)^[ \t]*```", pages_text(), re.S | re.M)
]


@pytest.mark.parametrize("block", TOML_BLOCKS)
def test_each_brain_toml_of_the_pages_gives_options_the_nodes_take(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # as a user in the clone: its plugins where it says they are
    (tmp_path / "brain.toml").write_text(block)
    settings = load_settings(config=tmp_path / "brain.toml", env={})
    catalog = discover(plugins_dirs=settings.plugins_dirs)
    _check_nodes(settings, catalog, _expanded(settings, catalog, sorted(settings.sections())))


def readme_lines() -> list[list[str]]:
    blocks = shell_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    return [words for block in blocks for words in command_lines(block)]


def readme_run_lines() -> list[list[str]]:
    """The README's `brain ... run NODES` lines on a broker of their own (the production
    broker's line is run by tests/test_production.py)."""
    lines = readme_lines()
    return [w for w in lines if w[0] == "brain" and "run" in w and "--passwords" not in w]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("words", readme_run_lines(), ids=shlex.join)
def test_each_run_line_of_the_readme_runs_every_node_it_names_offline(
    words: list[str],
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    people_weights: Path,
    tmp_path: Path,
) -> None:
    """As a new user on a machine with no internet, after the README's `brain models
    pull people`: every node comes online, and Ctrl-C stops them all cleanly."""
    pulled = cache_dir() / "models" / "people"
    if not pulled.exists():  # what `brain models pull people` leaves, in the tests' home
        shutil.copytree(people_weights, pulled)
    if any("cert.pem" in word for word in words):  # made by the README's openssl line
        [openssl] = [w for w in readme_lines() if w[0] == "openssl"]
        subprocess.run(openssl, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    nodes = words[words.index("run") + 1 :]
    nodes = nodes[: next((n for n, word in enumerate(nodes) if word.startswith("-")), None)]
    here = ["--mqtt", mosquitto.url, "--set", f"browser.port={free_port()}"]
    plugins = [str(ROOT / word) if word.startswith("examples/") else word for word in words[1:]]
    run = brain_process(*here, *plugins, cwd=tmp_path)
    for node in nodes:
        run.wait_online(mosquitto, node, timeout=300)
    assert run.stop(signal.SIGINT, timeout=30) == 0, run.log()
    assert "Traceback" not in run.log()
