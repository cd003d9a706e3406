"""Fixtures live in tests/support.py beside the helpers they use; pytest finds them here."""

from tests.support import brain_process, broker, inception_weights, mosquitto, own_home, record

__all__ = ["brain_process", "broker", "inception_weights", "mosquitto", "own_home", "record"]
