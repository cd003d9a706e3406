"""Options from ``brain.toml``, ``BRAIN_<NODE>_<KEY>`` and ``--set NODE.KEY=VALUE``.

Later sources win, in that order. pydantic validates the merged values, and a
bad one is reported with its key, where it came from and what is accepted.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from brain._errors import BrainError
from brain._node import NodeOptions
from brain._url import BrokerUrl, BrokerUrlError

DEFAULT_CONFIG = Path("brain.toml")
DEFAULT_PLUGINS_DIR = Path("plugins")
MQTT_URL_ENV = "BRAIN_MQTT_URL"
PASSWORDS_ENV = "BRAIN_MQTT_PASSWORDS"
#: Keys of brain.toml outside any [node] section.
GLOBAL_KEYS = ("mqtt", "passwords", "prefix", "plugins_dir")
#: Option keys whose values an error message must not repeat.
_SECRET = re.compile(r"token|secret|password|key", re.IGNORECASE)


#: Option key -> (raw value, where it came from), for error messages that point home.
Values = dict[str, tuple[Any, str]]


def state_dir() -> Path:
    """Where nodes keep what must survive a restart (XDG's state directory)."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "brain"


def cache_dir() -> Path:
    """Where brain keeps what it fetched and can fetch again (XDG's cache directory)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "brain"


class OptionError(BrainError, ValueError):
    """A bad option; the message names the key, its origin and the accepted values."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the command line, the environment and brain.toml say, merged."""

    #: The broker; None when nobody named one (``brain run`` may then embed one).
    url: BrokerUrl | None
    #: ``user:password`` lines: each process logs in as its own user (``login``).
    passwords: Path | None = None
    prefix: str = "brain"
    plugins_dirs: tuple[Path, ...] = ()
    #: Per node: key -> (raw value, where it came from), from brain.toml and from --set.
    file_values: Mapping[str, Values] = field(default_factory=dict)
    set_values: Mapping[str, Values] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    def login(self, user: str) -> BrokerUrl | None:
        """The broker's address as ``user`` logs in: with the password the passwords
        file gives that user, when there is one; else as the address says."""
        if self.passwords is None:
            return self.url
        secret = read_passwords(self.passwords).get(user)
        if secret is None:
            raise OptionError(
                f"the passwords file {self.passwords} has no line for {user!r}: add "
                f"'{user}:PASSWORD' there and to the broker's (mosquitto/README.md)"
            )
        return replace(self.url or BrokerUrl(), username=user, password=secret)

    def sections(self) -> set[str]:
        """The node names that brain.toml or --set gave options to."""
        return {*self.file_values, *self.set_values}

    def instances(self, node: str, options_type: type[NodeOptions]) -> list[str]:
        """``node:name`` for each ``[node.name]`` table of brain.toml (several cameras in
        one run), in the file's order; none: the node runs once."""
        tables = _tables(self.file_values.get(node, {}), options_type)
        return [f"{node}:{key}" for key in tables]

    def options_for(self, node: str, options_type: type[NodeOptions]) -> NodeOptions:
        """Validate the options of ``node`` (or of ``node:name``, one of its instances:
        its section, then its own table, and its ``name``); raise ``OptionError`` naming
        the bad key."""
        kind, _, instance = node.partition(":")
        section = self.file_values.get(kind, {})
        tables = _tables(section, options_type)
        values = {key: given for key, given in section.items() if key not in tables}
        if instance:
            if "name" not in options_type.model_fields:
                raise OptionError(f"{kind} runs once: it has no name option to tell several apart")
            table, origin = tables.get(instance, ({}, ""))
            origin = origin.replace(f"[{kind}]", f"[{kind}.{instance}]")
            values |= {key: (value, origin) for key, value in table.items()}
        values |= {**self._env_values(kind, options_type), **self.set_values.get(kind, {})}
        if instance:  # last: a --set camera.name cannot make two cameras one
            values["name"] = (instance, f"the instance {node}")
        return _validate(node, options_type, values)

    def user_of(self, node: str) -> str:
        """Who ``node`` logs in as: its name; ``camera-frontdoor`` for ``camera:frontdoor``
        (on the production broker, one user is one connection)."""
        return node.replace(":", "-")

    def _env_values(self, node: str, options_type: type[NodeOptions]) -> Values:
        prefix = f"BRAIN_{_env_word(node)}_"
        accepted = {_env_word(key): key for key in options_type.model_fields}
        values = {}
        for name, text in self.env.items():
            if name.startswith(prefix) and name not in (MQTT_URL_ENV, PASSWORDS_ENV):
                word = name.removeprefix(prefix)
                values[accepted.get(word, word.lower())] = (
                    _parse_value(text),
                    f"environment variable {name}",
                )
        return values


def read_passwords(path: Path) -> dict[str, str]:
    """``user:password`` lines, as ``mosquitto_passwd -U`` takes them ('#': a comment)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise OptionError(
            f"cannot read the passwords file {path} ({error.strerror}); check --passwords"
        ) from None
    passwords = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, colon, secret = line.partition(":")
        if not (colon and user.strip() and secret):
            raise OptionError(f"{path}, line {number}: write it as user:password")
        passwords[user.strip()] = secret
    return passwords


def load_settings(
    *,
    mqtt: str | None = None,
    passwords: Path | None = None,
    config: Path | None = None,
    sets: Sequence[str] = (),
    plugins_dirs: Sequence[Path] = (),
    prefix: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the global options and collect every node's raw option values."""
    env = dict(os.environ if env is None else env)
    document = _read_config(config)
    file_values: dict[str, Values] = {}
    set_values: dict[str, Values] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            origin = f"[{key}] in {config or DEFAULT_CONFIG}"
            file_values[key] = {name: (v, origin) for name, v in value.items()}
        elif key not in GLOBAL_KEYS:
            raise OptionError(
                f"{config or DEFAULT_CONFIG}: unknown key {key!r}; "
                f"accepted outside a [node] section: {', '.join(GLOBAL_KEYS)}"
            )
    for assignment in sets:
        node, key, value = _parse_set(assignment)
        set_values.setdefault(node, {})[key] = (_parse_value(value), f"--set {assignment}")
    url_text = mqtt or env.get(MQTT_URL_ENV) or document.get("mqtt")
    passwords_file = passwords or env.get(PASSWORDS_ENV) or document.get("passwords")
    dirs = [*map(Path, _as_list(document.get("plugins_dir"))), *plugins_dirs]
    if DEFAULT_PLUGINS_DIR.is_dir():
        dirs.append(DEFAULT_PLUGINS_DIR)
    try:
        url = BrokerUrl.parse(url_text) if url_text else None
    except BrokerUrlError as error:
        raise OptionError(str(error)) from None
    return Settings(
        url=url,
        passwords=Path(passwords_file) if passwords_file else None,
        prefix=prefix or str(document.get("prefix", "brain")),
        plugins_dirs=tuple(dict.fromkeys(dirs)),
        file_values=file_values,
        set_values=set_values,
        env=env,
    )


def _read_config(config: Path | None) -> dict[str, Any]:
    path = config or DEFAULT_CONFIG
    if config is None and not path.exists():
        return {}
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise OptionError(f"config file {path} does not exist; check the --config path") from None
    except tomllib.TOMLDecodeError as error:
        raise OptionError(f"config file {path} is not valid TOML: {error}") from None


def set_environment(sets: Sequence[str]) -> dict[str, str]:
    """``--set NODE.KEY=VALUE`` as the ``BRAIN_<NODE>_<KEY>`` variables that say the same:
    how ``brain run`` hands them to its children, out of sight of ``ps`` (a token, say)."""
    environment = {}
    for assignment in sets:
        node, key, value = _parse_set(assignment)
        environment[f"BRAIN_{_env_word(node)}_{_env_word(key)}"] = value
    return environment


def _parse_set(assignment: str) -> tuple[str, str, str]:
    target, equals, value = assignment.partition("=")
    node, dot, key = target.partition(".")
    if not (equals and dot and node and key):
        raise OptionError(f"--set expects NODE.KEY=VALUE (e.g. camera.fps=2), got {assignment!r}")
    return node, key, value


def _parse_value(text: str) -> Any:
    """``2`` -> 2, ``true`` -> True, ``["a"]`` -> ["a"]; anything else stays text."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _validate(node: str, options_type: type[NodeOptions], values: Values) -> NodeOptions:
    try:
        return options_type.model_validate({key: value for key, (value, _) in values.items()})
    except ValidationError as error:
        raise OptionError(_describe(node, options_type, values, error)) from None


def _describe(
    node: str, options_type: type[NodeOptions], values: Values, error: ValidationError
) -> str:
    lines = []
    for problem in error.errors(include_url=False):
        key = ".".join(str(part) for part in problem["loc"])
        value, origin = values.get(str(problem["loc"][0]), (None, "the defaults"))
        if problem["type"] == "extra_forbidden":
            accepted = ", ".join(sorted(options_type.model_fields))
            lines.append(
                f"{node}.{key} (from {origin}) is not an option of {node}; accepted: {accepted}"
            )
        elif _SECRET.search(key):  # neither the value nor the --set that gave it
            where = origin.partition("=")[0]
            lines.append(f"{node}.{key} = (hidden) (from {where}): {problem['msg']}")
        else:
            lines.append(f"{node}.{key} = {value!r} (from {origin}): {problem['msg']}")
    return "; ".join(lines)


def _tables(section: Values, options_type: type[NodeOptions]) -> Values:
    """The instances' tables of a section: its tables that are not an option (a
    ``commands = {...}`` table is the microphone's option, not a microphone)."""
    return {
        key: given
        for key, given in section.items()
        if isinstance(given[0], dict) and key not in options_type.model_fields
    }


def _env_word(name: str) -> str:
    return name.upper().replace("-", "_")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
