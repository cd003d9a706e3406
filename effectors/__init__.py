"""Built-in effector nodes (browser, speaker, alerts) live here."""
