"""Finding nodes and models: the entry point groups and the drop-in plugin folders."""

from brain._plugins import MODEL_GROUP, NODE_GROUP, Catalog, PluginError, discover

__all__ = ["MODEL_GROUP", "NODE_GROUP", "Catalog", "PluginError", "discover"]
