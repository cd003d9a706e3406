"""Settings: brain.toml, BRAIN_* variables and ``--set``, validated by each node's options."""

from brain._config import OptionError, Settings, load_settings, state_dir

__all__ = ["OptionError", "Settings", "load_settings", "state_dir"]
