"""``brain record``, ``brain replay`` and ``brain events``: the brain's memory."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
import structlog

from brain._bus import Bus
from brain._topics import Topics
from brain.cli._group import main
from brain.cli._options import SharedOptions, user_errors, with_shared
from brain.cli._run import run_one
from brain.faces import visitor
from brain.recording import (
    Events,
    Happened,
    RecordingError,
    Visit,
    files_of,
    moment,
    read,
    replay,
)

log = structlog.get_logger()

_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: Where a replay goes unless told: beside the live house, not in it.
REPLAY_PREFIX = "replay"


@main.command()
@click.argument("filters", nargs=-1, metavar="[FILTER]...")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder of the recordings.",
)
@with_shared
def record(options: SharedOptions, filters: tuple[str, ...], out: Path) -> None:
    """Record the bus into MCAP files in OUT until Ctrl-C, as the recorder node does.

    FILTER: topic filters under the prefix (default: everything but the stats), e.g.
    `senses/camera/#` `perceptions/#`.
    """
    sets = [f"recorder.directory={json.dumps(str(out))}"]
    if filters:
        sets.append(f"recorder.topics={json.dumps(list(filters))}")
    # Not the recorder node: its own name on the bus, and no persistent session (a
    # recorder node may be running, and its session is its own); people's login.
    with_out = dataclasses.replace(options, sets=(*options.sets, *sets))
    run_one(with_out, "recorder", as_name="record", user="watch")


@main.command("replay")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rate",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Speed: 2 is twice as fast; 0 as fast as the bus takes them.",
)
@click.option("--from", "start", help="From this time (ISO) or offset (+90s, +5m).")
@click.option("--to", "end", help="To this time (ISO) or offset (+90s, +5m).")
@click.option("--topics", help="Only these, e.g. 'brain/senses/camera/#'.")
@click.option("--loop", is_flag=True, help="Start over at the end, until Ctrl-C.")
@click.option(
    "--into-live",
    is_flag=True,
    help="Replay under the live prefix, where the live alerts and speakers hear it.",
)
@click.option("--commands", is_flag=True, help="Replay the commands too (arm, disarm, close...).")
@with_shared
def replay_command(
    options: SharedOptions,
    paths: tuple[Path, ...],
    rate: float,
    start: str | None,
    end: str | None,
    topics: str | None,
    loop: bool,
    into_live: bool,
    commands: bool,
) -> None:
    """Publish recorded events again, with their recorded spacing.

    PATHS: MCAP files or folders of them. They go under the prefix `replay` (or
    --prefix), beside the live system, whose speakers and alerts do not hear them; run
    nodes with `--prefix replay` to see what they make of them.
    """
    live = dataclasses.replace(options, prefix=None).settings().prefix
    target = live if into_live else options.prefix or REPLAY_PREFIX
    if target == live and not into_live:
        raise click.UsageError(
            f"the prefix {live!r} is the live house's: its alerts and speakers would act on "
            "the replay; give --into-live to mean it, or another --prefix"
        )
    with user_errors(), _recording_errors():
        files = files_of(paths)
        first = next(iter(read(files)), None)
        first_ns = first.log_time_ns if first else None
        start_ns = moment(start, first_ns=first_ns) if start else None
        end_ns = moment(end, first_ns=first_ns) if end else None
        bus = Bus(
            node="replay", url=options.login("owner"), topics=Topics(target),
            presence=False,
        )  # fmt: skip
        bus.connect(timeout=10)
    try:
        while True:
            with _recording_errors():
                messages = read(files, topics=topics, start_ns=start_ns, end_ns=end_ns,
                                warn=lambda sentence: log.warning(sentence))  # fmt: skip
                done = replay(messages, bus, rate=rate, commands=commands)
            late = sorted(done.lateness_s)
            p99 = late[int(0.99 * (len(late) - 1))] * 1000 if late else 0.0
            left_out = (
                f"; {done.commands_skipped} commands left out (--commands replays them)"
                if done.commands_skipped else ""
            )  # fmt: skip
            click.echo(f"replayed {done.events} events under {target}/ "
                       f"(p99 {p99:.1f} ms late){left_out}")  # fmt: skip
            if not loop or not done.events:
                break
    except KeyboardInterrupt:
        pass
    finally:
        bus.close()


@main.command()
@click.option("--since", default="1d", show_default=True, help="How far back: 30m, 2h, 7d.")
@click.option("--rule", help="Only this rule's alerts (and the visits that fired it).")
@click.option("--source", help="Only this camera's.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option(
    "--store",
    type=click.Path(path_type=Path, file_okay=False),
    help="The recordings folder [default: recorder.directory].",
)
@with_shared
def events(
    options: SharedOptions,
    since: str,
    rule: str | None,
    source: str | None,
    as_json: bool,
    store: Path | None,
) -> None:
    """What happened, newest first: the visits (who, how long, what they fired, their
    clips) and the alerts of rules that judge frames."""
    with user_errors():
        recorder = options.catalog().node("recorder")
        recorder_options = options.settings().options_for("recorder", recorder.Options)
        folder = store or Path(recorder_options.model_dump()["directory"])
        seconds = _seconds(since)
    if not (folder / "events.sqlite3").exists():
        raise click.ClickException(
            f"no recordings in {folder}: run `brain run recorder` (or give --store DIR)"
        )
    index = Events(folder)
    try:
        start = time.time() - seconds
        visits = [
            v for v in index.visits(since=start, source=source) if rule is None or rule in v.alerts
        ]
        alerts = [a for a in index.list(since=start, rule=rule, source=source) if a.track is None]
    finally:
        index.close()
    both: list[Visit | Happened] = [*visits, *alerts]
    happened = sorted(both, key=_started, reverse=True)
    for event in happened:
        click.echo(_as_json(event) if as_json else _as_line(event))
    if not happened and not as_json:
        click.echo(f"nothing happened in the last {since}")


def _started(event: Visit | Happened) -> datetime:
    return event.first_seen if isinstance(event, Visit) else event.at


def _as_line(event: Visit | Happened) -> str:
    """``14:02:05-14:02:43 frontdoor: a stranger, 38 s, snapshot, alert door, clip F``."""
    if isinstance(event, Visit):
        parts = [visitor(event.identity, event.label)]
        parts.append(f"{round(event.seconds)} s" + ("" if event.ended else ", still there"))
        parts += ["snapshot"] * event.has_snapshot + [f"alert {r}" for r in event.alerts]
        parts += [f"clip {event.clip}"] * (event.clip is not None)
        return (f"{event.first_seen:%Y-%m-%d %H:%M:%S}-{event.last_seen:%H:%M:%S}  "
                f"{event.source}: {', '.join(parts)}")  # fmt: skip
    who = f" ({', '.join(event.who)})" if event.who else ""
    clip = f"  clip {event.clip}" if event.clip else ""
    muted = "" if event.armed else "  [disarmed]"
    return (f"{event.at:%Y-%m-%d %H:%M:%S}  {event.rule}  {event.source}  "
            f"{event.text}{who}{muted}{clip}")  # fmt: skip


def _as_json(event: Visit | Happened) -> str:
    line = dataclasses.asdict(event) | {"clip": str(event.clip) if event.clip else None}
    if isinstance(event, Visit):
        line |= {
            "kind": "visit",
            "first_seen": event.first_seen.isoformat(),
            "last_seen": event.last_seen.isoformat(),
            "seconds": round(event.seconds, 1),
        }
    else:
        line |= {"kind": "alert", "at": event.at.isoformat()}
    return json.dumps(line)


def _seconds(text: str) -> float:
    unit = _DURATION.get(text[-1:])
    try:
        return float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is no duration: give e.g. 30m, 2h or 7d") from None


@contextlib.contextmanager
def _recording_errors() -> Iterator[None]:
    """A recording that cannot be read ends the command with its sentence."""
    try:
        yield
    except RecordingError as error:
        raise click.ClickException(str(error)) from None
