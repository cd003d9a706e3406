"""Finding nodes and models: installed entry points and drop-in ``.py`` files.

Built-ins register under the same entry-point groups as third-party packages,
so there is one way in. A plugin that fails to load is recorded with its reason
and skipped: one broken file never takes the others down.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from brain._errors import BrainError
from brain._model import Model
from brain._node import Node

NODE_GROUP = "brain.nodes"
MODEL_GROUP = "brain.models"


class PluginError(BrainError, LookupError):
    """A node or model that cannot be found or loaded; the message says which and why."""


@dataclass(frozen=True)
class Plugin:
    """A node or model that can be loaded: where it comes from, and how to get it."""

    name: str
    group: str
    origin: str
    entry_point: EntryPoint | None = None
    loaded: Any = None

    def load(self) -> Any:
        if self.loaded is not None:
            return self.loaded
        assert self.entry_point is not None
        return self.entry_point.load()


@dataclass(frozen=True)
class Broken:
    """A plugin that failed to load."""

    origin: str
    reason: str


@dataclass
class Catalog:
    plugins: dict[tuple[str, str], Plugin] = field(default_factory=dict)
    broken: list[Broken] = field(default_factory=list)

    def names(self, group: str) -> list[str]:
        return sorted(name for (kind, name) in self.plugins if kind == group)

    def find(self, group: str, name: str) -> Plugin:
        try:
            return self.plugins[(group, name)]
        except KeyError:
            known = ", ".join(self.names(group)) or "none"
            what = "node" if group == NODE_GROUP else "model"
            # The file that would have defined it may be the one that failed to load.
            failed = "".join(
                f"; {broken.origin} failed to load ({broken.reason}): fix it"
                for broken in self.broken
                if Path(broken.origin).stem == name
            )
            raise PluginError(
                f"there is no {what} called {name!r}{failed}; known: {known} (see `brain list`)"
            ) from None

    def node(self, name: str) -> type[Node[Any]]:
        """Load the node class registered as ``name``."""
        loaded: type[Node[Any]] = self._load_class(NODE_GROUP, name, Node)
        return loaded

    def model(self, name: str) -> type[Model]:
        """Load the model class registered as ``name``."""
        loaded: type[Model] = self._load_class(MODEL_GROUP, name, Model)
        return loaded

    def _load_class(self, group: str, name: str, base: type[Any]) -> Any:
        plugin = self.find(group, name)
        what = base.__name__.lower()
        try:
            loaded = plugin.load()
        except Exception as error:
            raise PluginError(
                f"{what} {name!r} from {plugin.origin} failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error
        if not (inspect.isclass(loaded) and issubclass(loaded, base)):
            raise PluginError(
                f"{what} {name!r} from {plugin.origin} is not a brain {base.__name__} class"
            )
        declared = getattr(loaded, "name", None)
        if declared != name:
            raise PluginError(
                f"{what} {name!r} from {plugin.origin} is a class named "
                f"{declared!r}; its `name` must be the entry point's name"
            )
        return loaded

    def load_all(self) -> None:
        """Import every entry point now, moving those that fail to ``broken``."""
        for key, plugin in list(self.plugins.items()):
            try:
                if key[0] == NODE_GROUP:
                    self.node(plugin.name)
                else:
                    self.model(plugin.name)
            except Exception as error:
                del self.plugins[key]
                self.broken.append(Broken(plugin.origin, str(error)))

    def _add(self, plugin: Plugin) -> None:
        key = (plugin.group, plugin.name)
        if key in self.plugins:
            self.broken.append(
                Broken(
                    plugin.origin,
                    f"{plugin.name!r} is already provided by "
                    f"{self.plugins[key].origin}; rename one of them",
                )
            )
        else:
            self.plugins[key] = plugin


def discover(*, plugins_dirs: Sequence[Path] = ()) -> Catalog:
    """Find installed entry points (not imported yet) and import drop-in files."""
    catalog = Catalog()
    for group in (NODE_GROUP, MODEL_GROUP):
        for point in entry_points(group=group):
            origin = f"{point.dist.name if point.dist else 'package'} ({point.value})"
            catalog._add(Plugin(point.name, group, origin, entry_point=point))
    for path in _plugin_files(plugins_dirs):
        _load_drop_in(catalog, path)
    return catalog


def _plugin_files(directories: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in directories:
        if not directory.is_dir():
            raise PluginError(f"plugins directory {directory} does not exist; check --plugins-dir")
        files.extend(sorted(p for p in directory.glob("*.py") if not p.name.startswith("_")))
    return files


def _load_drop_in(catalog: Catalog, path: Path) -> None:
    origin = f"plugin {path}"
    try:
        module = _import_file(path)
    except (Exception, SystemExit) as error:  # a plugin calling exit() is broken, not fatal
        catalog.broken.append(Broken(origin, f"{type(error).__name__}: {error}"))
        return
    found = [(NODE_GROUP, cls) for cls in _classes(module, Node)]
    found += [(MODEL_GROUP, cls) for cls in _classes(module, Model)]
    if not found:
        catalog.broken.append(Broken(origin, "defines no brain Node or Model class with a `name`"))
    for group, cls in found:
        catalog._add(Plugin(cls.name, group, origin, loaded=cls))


def _import_file(path: Path) -> ModuleType:
    module_name = f"brain_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _classes(module: ModuleType, base: type[Any]) -> list[Any]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, base)
        and obj.__module__ == module.__name__
        and bool(getattr(obj, "name", None))
        and not inspect.isabstract(obj)
    ]
