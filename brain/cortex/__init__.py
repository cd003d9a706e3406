"""The cortex and its models."""

from brain.cortex._node import Cortex, CortexOptions, load_model

__all__ = ["Cortex", "CortexOptions", "load_model"]
