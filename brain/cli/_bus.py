"""Looking at the bus and what plugs into it: ``brain watch``, ``brain list``, ``brain schema``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click
import paho.mqtt.client as mqtt

from brain._bus import Bus
from brain._node import Node
from brain._plugins import MODEL_GROUP, NODE_GROUP
from brain._topics import Topics
from brain._watch import raw_line, summarize
from brain.cli._group import main
from brain.cli._options import SharedOptions, user_errors, with_shared
from schemas import EVENTS, ImageEvent, Stats, render_schema, schema_filename, write_schemas


@main.command()
@click.argument("topic_filter", default="", metavar="[FILTER]")
@click.option("--json", "as_json", is_flag=True, help="Print one raw JSON line per message.")
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many messages.")
@click.option("--all", "everything", is_flag=True, help="Frames and figures too.")
@with_shared
def watch(
    options: SharedOptions, topic_filter: str, as_json: bool, count: int | None, everything: bool
) -> None:
    """Print the events on the bus as they arrive (default filter: PREFIX/#): what a
    person wants to see, without the frames and the figures unless --all or a FILTER."""
    settings = options.settings()
    topics = Topics(settings.prefix)
    bus = Bus(node="watch", url=options.login("watch"), topics=topics, presence=False)
    done = threading.Event()
    seen = 0
    render = raw_line if as_json else summarize

    # Left out unless asked: frames (two a second a camera) and figures.
    noisy = [] if topic_filter or everything else [topics.matching(k) for k in (ImageEvent, Stats)]

    def show(topic: str, payload: bytes) -> None:
        nonlocal seen
        if done.is_set():  # more may arrive between the last one and the disconnect
            return
        if any(mqtt.topic_matches_sub(kind, topic) for kind in noisy):
            return
        click.echo(render(topic, payload))
        seen += 1
        if count is not None and seen >= count:
            done.set()

    bus.subscribe_raw(topic_filter or topics.everything(), show)
    with user_errors():
        bus.connect(timeout=10)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        bus.close()


@main.command("list")
@with_shared
def list_plugins(options: SharedOptions) -> None:
    """The nodes (with what each reads and writes) and models found, where each comes
    from, and plugins that failed."""
    catalog = options.catalog()
    catalog.load_all()
    for title, group in (("nodes", NODE_GROUP), ("models", MODEL_GROUP)):
        click.echo(f"{title}:")
        names = catalog.names(group)
        for name in names:
            plugin = catalog.plugins[(group, name)]
            found = plugin.load()
            click.echo(f"  {name:<14} {plugin.origin}  {_summary(found)}")
            if group == NODE_GROUP:
                for line in wiring(found):
                    click.echo(f"  {'':<14} {line}")
        if not names:
            click.echo("  (none)")
    if catalog.broken:
        click.echo("failed to load:")
        for broken in catalog.broken:
            click.echo(f"  {broken.origin}: {broken.reason}")


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("schemas"),
    show_default=True,
    help="Directory to write the JSON Schema files into (in the current folder).",
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


def _up_to_date(directory: Path, event: Any) -> bool:
    path = directory / schema_filename(event)
    return path.exists() and path.read_text(encoding="utf-8") == render_schema(event)


def wiring(node_type: type[Node[Any]]) -> list[str]:
    """What a node reads (its ``@on`` handlers) and writes (its ``publishes``; every node
    also writes its stats and errors)."""
    reads = [f"reads  {declared.describe()}" for declared in node_type.subscribes]
    writes = [f"writes {kind.__name__} on PREFIX/{kind.TOPIC}" for kind in node_type.publishes]
    return reads + writes


def _summary(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""
