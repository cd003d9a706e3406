"""Running nodes: ``brain run`` (supervised), ``brain node`` (one, alone), ``brain broker``."""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import click
import structlog

from brain import _logging
from brain._broker import embedded_broker, is_listening
from brain._config import MQTT_URL_ENV, OptionError, Settings, set_environment
from brain._errors import BrainError
from brain._plugins import NODE_GROUP, Catalog
from brain._runner import run_node
from brain._supervisor import ChildSpec, RestartPolicy, Supervisor
from brain._topics import Topics
from brain._url import BrokerUrl
from brain.cli._group import main
from brain.cli._options import SharedOptions, user_errors, with_shared
from schemas import UNIDENTIFIED

log = structlog.get_logger()


@main.command()
@click.argument("nodes", nargs=-1, required=True)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Keep the other nodes running when one cannot start at all [default: stop them all].",
)
@with_shared
def run(options: SharedOptions, nodes: tuple[str, ...], keep_going: bool) -> None:
    """Start NODES, each in its own process, and supervise them until Ctrl-C."""
    settings = options.settings()
    catalog = options.catalog()
    with user_errors():
        nodes = _expanded(settings, catalog, _with_needs(catalog, nodes))
        _check_nodes(settings, catalog, nodes)
        if "alerts" in nodes:
            _warn_of_labels_no_model_gives(settings, catalog)
        with tempfile.TemporaryDirectory(prefix="brain-") as scratch:
            url, broker = _broker_for_run(settings, Path(scratch))
            env = {_logging.LOG_FORMAT_ENV: "json", **set_environment(options.sets)}
            # Each node logs in as itself when there is a passwords file (the production
            # broker lets one connection a user); else all as the address says.
            logins = {node: settings.login(settings.user_of(node)) or url for node in nodes}
            children = [
                ChildSpec(
                    name=node,
                    argv=options.child_argv(node),
                    env={**env, MQTT_URL_ENV: logins[node].with_secret()},
                )
                for node in nodes
            ]
            policy = RestartPolicy(stop_all_when_one_cannot_start=not keep_going)
            code = Supervisor([*broker, *children], policy=policy).run()
    sys.exit(code)


@main.command()
@click.argument("name")
@with_shared
def node(options: SharedOptions, name: str) -> None:
    """Run one node in the foreground, unsupervised (what `brain run` starts per node)."""
    run_one(options, name)


def run_one(
    options: SharedOptions, name: str, *, as_name: str | None = None, user: str | None = None
) -> None:
    """Run node ``name`` in this process until it stops, then exit with its status;
    ``as_name`` on the bus (``run_node``), logged in as ``user`` (default: the node's
    name) when there is a passwords file."""
    _logging.configure(node=as_name or name, level=options.log_level, log_format=options.log_format)
    settings = options.settings()
    catalog = options.catalog()
    with user_errors():
        node_type = catalog.node(name.partition(":")[0])
        node_options = settings.options_for(name, node_type.Options)
    code = run_node(
        node_type,
        options=node_options,
        url=options.login(user or settings.user_of(name)),
        topics=Topics(settings.prefix),
        catalog=catalog,
        as_name=as_name,
    )
    # The node has stopped and let go of everything; skip the interpreter's teardown,
    # which takes seconds once TensorFlow is loaded and would eat the supervisor's
    # stop window.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
def broker(host: str, port: int) -> None:
    """Run the embedded broker (Mosquitto) alone, until Ctrl-C."""
    if is_listening(host, port):
        raise click.ClickException(
            f"something already listens on {host}:{port}: stop it, or give another --port"
        )
    with user_errors(), tempfile.TemporaryDirectory(prefix="brain-") as scratch:
        spec = embedded_broker(host, port, config_dir=Path(scratch), alone=True)
        log.info("embedded broker", address=f"mqtt://{host}:{port}")
        code = Supervisor([spec]).run()
    sys.exit(code)


def _with_needs(catalog: Catalog, nodes: Sequence[str]) -> tuple[str, ...]:
    """The nodes named, then those they need that were not named (the visits, for the
    alerts), each said in the log."""
    named = {node.partition(":")[0] for node in nodes}
    added: list[str] = []
    for node in nodes:
        for needed in catalog.node(node.partition(":")[0]).needs:
            if needed not in named and needed not in added:
                log.info(f"starting {needed} too: {node} needs it")
                added.append(needed)
    return (*nodes, *added)


def _expanded(settings: Settings, catalog: Catalog, nodes: Sequence[str]) -> tuple[str, ...]:
    """Each node, or each of its instances when brain.toml names several
    (``[camera.frontdoor]``, ``[camera.backyard]``: camera:frontdoor, camera:backyard)."""
    expanded: list[str] = []
    for node in nodes:
        found = [] if ":" in node else settings.instances(node, catalog.node(node).Options)
        expanded += found or [node]
    return tuple(expanded)


def _check_nodes(settings: Settings, catalog: Catalog, nodes: Sequence[str]) -> None:
    """Fail before starting anything: unknown nodes, bad options, sections for no node."""
    twice = sorted({n for n in nodes if nodes.count(n) > 1})
    if twice:
        raise OptionError(f"node {twice[0]!r} is named twice; name each node once")
    for name in nodes:
        settings.options_for(name, catalog.node(name.partition(":")[0]).Options)
    known = set(catalog.names(NODE_GROUP))
    for section in sorted(settings.sections() - known):
        raise OptionError(
            f"options are given for {section!r}, which is not a node; "
            f"known nodes: {', '.join(sorted(known))}"
        )


def _warn_of_labels_no_model_gives(settings: Settings, catalog: Catalog) -> None:
    """A rule on a label the cortex's model never gives ('strnger') never fires: say so
    at once, with the label meant, rather than wait in silence."""
    from brain.cortex import CortexOptions, model_type

    known, model = None, ""
    # Bad cortex options, a model that cannot be found: the cortex says so when it runs.
    with contextlib.suppress(BrainError):
        cortex = settings.options_for("cortex", CortexOptions)
        assert isinstance(cortex, CortexOptions)
        known, model = model_type(cortex, catalog).labels(cortex), cortex.model
    if not known:
        return
    alerts = settings.options_for("alerts", catalog.node("alerts").Options)
    for rule in getattr(alerts, "rules", ()):
        # A visit is also who it was: one whose face was never seen is "unidentified".
        said = known if rule.per == "frame" else known | {UNIDENTIFIED}
        for label in sorted(set(rule.labels) - said):
            meant = difflib.get_close_matches(label, sorted(known), n=1)
            log.warning(
                f"rule {rule.name!r}: the {model} model never says {label!r}"
                + (f"; did you mean {meant[0]!r}?" if meant else ", so it never fires on it")
            )


def _broker_for_run(settings: Settings, scratch: Path) -> tuple[BrokerUrl, list[ChildSpec]]:
    """The broker to use, and the embedded one to start when nobody named or runs one."""
    if settings.url is not None:
        return settings.url, []
    if settings.passwords is not None:
        raise OptionError(
            "a passwords file is for a broker of your own: give its address with --mqtt"
        )
    url = BrokerUrl()
    if is_listening(url.host, url.port):
        return url, []
    log.info("no broker named and none listening; starting the embedded one", address=str(url))
    return url, [embedded_broker(url.host, url.port, config_dir=scratch)]
