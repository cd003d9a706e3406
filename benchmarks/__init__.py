"""Performance scripts: each prints JSON figures against the bare library, same run."""
