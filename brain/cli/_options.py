"""The options every bus command takes, before or after its name.

Users type ``brain run camera --set camera.source=0`` as readily as ``brain --set
camera.source=0 run camera``; both mean the same. Each command that reads settings
is decorated with ``shared_options``; the values given at each level are merged in
the context's ``meta`` (shared by a group and its subcommands), the later level
winning for single values and adding to the repeatable ones.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from brain import _logging
from brain._config import OptionError, Settings, load_settings
from brain._errors import BrainError
from brain._plugins import Catalog, PluginError, discover
from brain._url import BrokerUrl

T = TypeVar("T")
FC = TypeVar("FC", bound=Callable[..., Any])
log = structlog.get_logger()

_META = "brain.shared_options"
DEFAULT_LOG_LEVEL = "info"


@dataclass(frozen=True)
class SharedOptions:
    mqtt: str | None = None
    passwords: Path | None = None
    config: Path | None = None
    sets: tuple[str, ...] = ()
    plugins_dirs: tuple[Path, ...] = ()
    prefix: str | None = None
    log_level: str = DEFAULT_LOG_LEVEL
    log_format: str | None = None

    def settings(self) -> Settings:
        with user_errors():
            return load_settings(
                mqtt=self.mqtt,
                passwords=self.passwords,
                config=self.config,
                sets=self.sets,
                plugins_dirs=self.plugins_dirs,
                prefix=self.prefix,
            )

    def login(self, user: str) -> BrokerUrl:
        """The broker's address as ``user`` logs in (``Settings.login``)."""
        with user_errors():
            return self.settings().login(user) or BrokerUrl()

    def catalog(self) -> Catalog:
        """The plugins found where the settings say; broken ones are logged and skipped."""
        with user_errors():
            catalog = discover(plugins_dirs=self.settings().plugins_dirs)
        for broken in catalog.broken:
            log.warning("plugin skipped", plugin=broken.origin, reason=broken.reason)
        return catalog

    def child_argv(self, node: str) -> list[str]:
        """``brain ... node NAME`` for a child. The broker URL and the ``--set`` values go
        by environment (``child_environment``), not argv: ``ps`` shows argv to anyone."""
        # -P: the working folder is not put first on the import path, so a folder there
        # named brain/ or schemas/ (`brain schema --out schemas`) cannot shadow brain's.
        argv = [sys.executable, "-P", "-m", "brain", "--log-level", self.log_level]
        if self.config:
            argv += ["--config", str(self.config.resolve())]
        for directory in self.plugins_dirs:
            argv += ["--plugins-dir", str(directory.resolve())]
        if self.prefix:
            argv += ["--prefix", self.prefix]
        return [*argv, "node", node]


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Merge one option's value into what the levels above gave."""
    given: dict[str, Any] = ctx.meta.setdefault(_META, {})
    assert param.name is not None
    if param.multiple:
        given[param.name] = (*given.get(param.name, ()), *value)
    elif value is not None:
        given[param.name] = value


def _option(*declarations: str, **attributes: Any) -> Callable[[FC], FC]:
    return click.option(*declarations, expose_value=False, callback=_remember, **attributes)


_OPTIONS = (
    _option(
        "--mqtt",
        metavar="URL",
        help="Broker, e.g. mqtt://user:pass@host:1883 or mqtts://host:8883 [env: BRAIN_MQTT_URL].",
    ),
    _option(
        "--passwords",
        type=click.Path(path_type=Path, dir_okay=False),
        help="File of user:password lines; each node logs in as the user named like it "
        "(the production broker, mosquitto/README.md) [env: BRAIN_MQTT_PASSWORDS].",
    ),
    _option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        help="TOML file of options [default: brain.toml when present].",
    ),
    _option(
        "--set",
        "sets",
        multiple=True,
        metavar="NODE.KEY=VALUE",
        help="Set a node option; repeatable; wins over the environment and the file.",
    ),
    _option(
        "--plugins-dir",
        "plugins_dirs",
        multiple=True,
        type=click.Path(path_type=Path, file_okay=False),
        help="Directory of drop-in plugin .py files; repeatable [and ./plugins].",
    ),
    _option("--prefix", help="Topic prefix [default: brain]."),
    _option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"]),
        help=f"[default: {DEFAULT_LOG_LEVEL}]",
    ),
    _option(
        "--log-format",
        type=click.Choice(["console", "json"]),
        help="One readable line an event, or JSON lines [default: console on a terminal, "
        "else json; env: BRAIN_LOG_FORMAT].",
    ),
)


def shared_options(command: FC) -> FC:
    """Add the shared options to a command or group."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def remember_sets(ctx: click.Context, *sets: str, first: bool = False) -> None:
    """Add ``--set`` values as if given on the command line; ``first``: before the
    user's, which then win."""
    given: dict[str, Any] = ctx.meta.setdefault(_META, {})
    before = given.get("sets", ())
    given["sets"] = (*sets, *before) if first else (*before, *sets)


def shared() -> SharedOptions:
    """The shared options given so far, at every level of the command line; logging
    is configured by them."""
    given = click.get_current_context().meta.get(_META, {})
    options = SharedOptions(**given)
    # For this process only: `brain run` gives its nodes JSON, which it relays in this format.
    _logging.configure(node="brain", level=options.log_level, log_format=options.log_format)
    return options


def with_shared(command: Callable[..., T]) -> Callable[..., T]:
    """Take the shared options too, and pass them merged as the first argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return command(shared(), *args, **kwargs)

    return shared_options(wrapper)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line and a non-zero exit, not a traceback."""
    try:
        yield
    except (OptionError, PluginError) as error:
        raise click.UsageError(str(error)) from None
    except (BrainError, TimeoutError) as error:  # every error of brain's says how to fix it
        raise click.ClickException(str(error)) from None
