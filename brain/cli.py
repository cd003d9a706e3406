"""The ``brain`` command."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from brain import _logging
from brain._broker import BrokerError, embedded_broker, is_listening
from brain._bus import Bus
from brain._config import MQTT_URL_ENV, OptionError, Settings, load_settings
from brain._node import FatalError
from brain._plugins import MODEL_GROUP, NODE_GROUP, Catalog, PluginError, discover
from brain._runner import run_node
from brain._supervisor import ChildSpec, Supervisor
from brain._topics import Topics
from brain._url import BrokerUrl
from brain._watch import raw_line, summarize
from schemas import SCHEMA_DIR, render_schema, schema_filename, write_schemas
from schemas._events import EVENTS

log = structlog.get_logger()
T = TypeVar("T")


@dataclass(frozen=True)
class GlobalOptions:
    mqtt: str | None
    config: Path | None
    sets: tuple[str, ...]
    plugins_dirs: tuple[Path, ...]
    prefix: str | None
    log_level: str

    def settings(self) -> Settings:
        return load_settings(
            mqtt=self.mqtt,
            config=self.config,
            sets=self.sets,
            plugins_dirs=self.plugins_dirs,
            prefix=self.prefix,
        )

    def child_argv(self, node: str) -> list[str]:
        """``brain ... node NAME`` for a child; the broker URL goes by environment, not argv,
        so its password does not show in ``ps``."""
        argv = [sys.executable, "-m", "brain", "--log-level", self.log_level]
        if self.config:
            argv += ["--config", str(self.config.resolve())]
        for assignment in self.sets:
            argv += ["--set", assignment]
        for directory in self.plugins_dirs:
            argv += ["--plugins-dir", str(directory.resolve())]
        if self.prefix:
            argv += ["--prefix", self.prefix]
        return [*argv, "node", node]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line and a non-zero exit, not a traceback."""
    try:
        yield
    except (OptionError, PluginError) as error:
        raise click.UsageError(str(error)) from None
    except (BrokerError, TimeoutError, FatalError) as error:
        raise click.ClickException(str(error)) from None


def _guarded(function: Callable[[], T]) -> T:
    with _user_errors():
        return function()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--mqtt",
    metavar="URL",
    help="Broker, e.g. mqtt://user:pass@host:1883 or mqtts://host:8883 [env: BRAIN_MQTT_URL].",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML file of options [default: brain.toml when present].",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NODE.KEY=VALUE",
    help="Set a node option; repeatable; wins over the environment and the file.",
)
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory of drop-in plugin .py files; repeatable [and ./plugins].",
)
@click.option("--prefix", help="Topic prefix [default: brain].")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.pass_context
def main(
    ctx: click.Context,
    mqtt: str | None,
    config: Path | None,
    sets: tuple[str, ...],
    plugins_dirs: tuple[Path, ...],
    prefix: str | None,
    log_level: str,
) -> None:
    """An event-driven brain on an MQTT bus: senses, a cortex and effectors."""
    _logging.configure(node="brain", level=log_level)
    ctx.obj = GlobalOptions(mqtt, config, sets, plugins_dirs, prefix, log_level)


@main.command()
@click.argument("nodes", nargs=-1, required=True)
@click.pass_obj
def run(options: GlobalOptions, nodes: tuple[str, ...]) -> None:
    """Start NODES, each in its own process, and supervise them until Ctrl-C."""
    with _user_errors():
        settings = options.settings()
        catalog = _catalog(settings)
        _check_nodes(settings, catalog, nodes)
        with tempfile.TemporaryDirectory(prefix="brain-") as scratch:
            url, broker = _broker_for_run(settings, Path(scratch))
            env = {MQTT_URL_ENV: url.with_secret(), _logging.LOG_FORMAT_ENV: "json"}
            children = [
                ChildSpec(name=node, argv=options.child_argv(node), env=env) for node in nodes
            ]
            code = Supervisor([*broker, *children]).run()
    sys.exit(code)


@main.command()
@click.argument("name")
@click.pass_obj
def node(options: GlobalOptions, name: str) -> None:
    """Run one node in the foreground, unsupervised (what `brain run` starts per node)."""
    _logging.configure(node=name, level=options.log_level)
    with _user_errors():
        settings = options.settings()
        catalog = _catalog(settings)
        node_type = catalog.node(name)
        node_options = settings.options_for(name, node_type.Options)
    code = run_node(
        node_type,
        options=node_options,
        url=settings.url or BrokerUrl(),
        topics=Topics(settings.prefix),
        catalog=catalog,
    )
    # The node has stopped and let go of everything; skip the interpreter's teardown,
    # which takes seconds once TensorFlow is loaded and would eat the supervisor's
    # stop window.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@main.command("list")
@click.pass_obj
def list_plugins(options: GlobalOptions) -> None:
    """The nodes and models found, where each comes from, and plugins that failed."""
    catalog = _guarded(lambda: discover(plugins_dirs=options.settings().plugins_dirs))
    catalog.load_all()
    for title, group in (("nodes", NODE_GROUP), ("models", MODEL_GROUP)):
        click.echo(f"{title}:")
        names = catalog.names(group)
        for name in names:
            plugin = catalog.plugins[(group, name)]
            click.echo(f"  {name:<14} {plugin.origin}  {_summary(plugin.load())}")
        if not names:
            click.echo("  (none)")
    if catalog.broken:
        click.echo("failed to load:")
        for broken in catalog.broken:
            click.echo(f"  {broken.origin}: {broken.reason}")


@main.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """The models, where their weights are, and whether each can run now."""
    if ctx.invoked_subcommand is not None:
        return
    catalog = _guarded(lambda: _catalog(ctx.obj.settings()))
    for name in catalog.names(MODEL_GROUP):
        try:
            ready, where = catalog.model(name).availability()
        except PluginError as error:
            ready, where = False, str(error)
        click.echo(f"  {name:<14} {'ready' if ready else 'not ready':<10} {where}")


@models.command()
@click.argument("name")
@click.pass_obj
def pull(options: GlobalOptions, name: str) -> None:
    """Download the weights of model NAME into its cache, where there is network."""
    with _user_errors():
        model = _catalog(options.settings()).model(name)
        try:
            click.echo(model.pull())
        except FatalError as error:
            raise click.ClickException(str(error)) from None


@main.command("train")
@click.argument("images", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The bundle folder to write."
)
@click.option(
    "--base",
    default="inception_v3",
    show_default=True,
    help="The frozen network: inception_v3, or mobilenet_v2 for small machines.",
)
@click.option(
    "--base-weights",
    type=click.Path(path_type=Path),
    help="The base's ImageNet weights (.h5) [default: the Keras cache, else a download].",
)
@click.option("--validation", default=10.0, show_default=True, type=click.FloatRange(0, 45))
@click.option("--test", default=10.0, show_default=True, type=click.FloatRange(0, 45))
@click.option(
    "--augment",
    default=0,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Augmented copies (flip, crop, brightness) of each training image.",
)
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--patience",
    default=5,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Epochs without a better validation loss before stopping.",
)
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    help="Bottleneck cache [default: ~/.local/state/brain/bottlenecks].",
)
def train_command(
    images: Path,
    out: Path,
    base: str,
    base_weights: Path | None,
    validation: float,
    test: float,
    augment: int,
    epochs: int,
    patience: int,
    cache: Path | None,
) -> None:
    """Train a new last layer on IMAGES (one sub-folder a class) and write a bundle."""
    from brain.train import Schedule, TrainOptions, train

    options = TrainOptions(
        images=images,
        out=out,
        base=base,
        base_weights=base_weights,
        validation=validation,
        test=test,
        augment=augment,
        schedule=Schedule(epochs=epochs, patience=patience),
        **({"cache": cache} if cache else {}),
    )
    with _user_errors():
        report = train(options)
    click.echo(report.summary())
    click.echo(f"bundle written to {out}; serve it with: brain run cortex --set cortex.model={out}")


@main.command("export")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The TFLite bundle to write."
)
@click.option("--format", "form", type=click.Choice(["tflite"]), default="tflite")
@click.option(
    "--quantize",
    type=click.Choice(["none", "dynamic", "float16", "int8"]),
    default="none",
    show_default=True,
    help="int8 is calibrated on the bundle's training images.",
)
@click.option(
    "--calibration",
    type=click.Path(path_type=Path),
    help="Images to calibrate int8 on [default: the folder the bundle was trained on].",
)
def export_command(
    bundle: Path, out: Path, form: str, quantize: str, calibration: Path | None
) -> None:
    """Write BUNDLE as a TFLite bundle, which a cortex serves without TensorFlow."""
    from brain.train._export import export

    with _user_errors():
        model = export(bundle, out=out, quantize=quantize, calibration=calibration)  # type: ignore[arg-type]
    before = (bundle / "model.keras").stat().st_size
    click.echo(
        f"{model}: {model.stat().st_size / 1e6:.1f} MB ({model.stat().st_size / before:.0%} of "
        f"the Keras model); serve it with: brain run cortex --set cortex.model={out}"
    )


@models.command("bench")
@click.argument("name", default="inception")
@click.pass_obj
def bench_models(options: GlobalOptions, name: str) -> None:
    """Images/s and latency of model NAME (or a bundle's path) on each engine and precision."""
    from brain.cortex import Cortex
    from brain.cortex._bench import HEADER, bench

    with _user_errors():
        settings = options.settings()
        cortex = settings.options_for("cortex", Cortex.Options).model_copy(update={"model": name})
        click.echo(f"{name} on this machine (cortex.weights and the other cortex options apply):")
        click.echo(HEADER)
        for row in bench(cortex, _catalog(settings)):  # type: ignore[arg-type]
            click.echo(str(row))


@main.command()
@click.argument("topic_filter", default="", metavar="[FILTER]")
@click.option("--json", "as_json", is_flag=True, help="Print one raw JSON line per message.")
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many messages.")
@click.pass_obj
def watch(options: GlobalOptions, topic_filter: str, as_json: bool, count: int | None) -> None:
    """Print the events on the bus as they arrive (default filter: PREFIX/#)."""
    settings = _guarded(options.settings)
    topics = Topics(settings.prefix)
    bus = Bus(node="watch", url=settings.url or BrokerUrl(), topics=topics, presence=False)
    done = threading.Event()
    seen = 0
    render = raw_line if as_json else summarize

    def show(topic: str, payload: bytes) -> None:
        nonlocal seen
        click.echo(render(topic, payload))
        seen += 1
        if count is not None and seen >= count:
            done.set()

    bus.subscribe_raw(topic_filter or topics.everything(), show)
    _guarded(lambda: bus.connect(timeout=10))
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        bus.close()


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=SCHEMA_DIR,
    show_default=True,
    help="Directory to write the JSON Schema files into.",
)
@click.option("--check", is_flag=True, help="Write nothing; fail if the files are out of date.")
def schema(out: Path, check: bool) -> None:
    """Write the JSON Schema of every event (one file per event)."""
    if check:
        stale = [schema_filename(e) for e in EVENTS if not _up_to_date(out, e)]
        if stale:
            raise click.ClickException(f"out of date: {', '.join(stale)}; run `brain schema`")
        click.echo(f"{len(EVENTS)} schema files are up to date in {out}")
        return
    for path in write_schemas(out):
        click.echo(str(path))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
def broker(host: str, port: int) -> None:
    """Run the embedded broker (Mosquitto) alone, until Ctrl-C."""
    with _user_errors(), tempfile.TemporaryDirectory(prefix="brain-") as scratch:
        spec = embedded_broker(host, port, config_dir=Path(scratch), alone=True)
        log.info("embedded broker", address=f"mqtt://{host}:{port}")
        code = Supervisor([spec]).run()
    sys.exit(code)


def _catalog(settings: Settings) -> Catalog:
    catalog = discover(plugins_dirs=settings.plugins_dirs)
    for broken in catalog.broken:
        log.warning("plugin skipped", plugin=broken.origin, reason=broken.reason)
    return catalog


def _check_nodes(settings: Settings, catalog: Catalog, nodes: Sequence[str]) -> None:
    """Fail before starting anything: unknown nodes, bad options, sections for no node."""
    twice = sorted({n for n in nodes if nodes.count(n) > 1})
    if twice:
        raise OptionError(f"node {twice[0]!r} is named twice; name each node once")
    for name in nodes:
        settings.options_for(name, catalog.node(name).Options)
    known = set(catalog.names(NODE_GROUP))
    for section in sorted(settings.sections() - known):
        raise OptionError(
            f"options are given for {section!r}, which is not a node; "
            f"known nodes: {', '.join(sorted(known))}"
        )


def _broker_for_run(settings: Settings, scratch: Path) -> tuple[BrokerUrl, list[ChildSpec]]:
    """The broker to use, and the embedded one to start when nobody named or runs one."""
    if settings.url is not None:
        return settings.url, []
    url = BrokerUrl()
    if is_listening(url.host, url.port):
        return url, []
    log.info("no broker named and none listening; starting the embedded one", address=str(url))
    return url, [embedded_broker(url.host, url.port, config_dir=scratch)]


def _up_to_date(directory: Path, event: Any) -> bool:
    path = directory / schema_filename(event)
    return path.exists() and path.read_text(encoding="utf-8") == render_schema(event)


def _summary(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


if __name__ == "__main__":  # pragma: no cover
    main()
