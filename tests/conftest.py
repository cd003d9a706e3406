"""Fixtures live beside the helpers they use (tests/support.py, tests/webhook.py);
pytest finds them here."""

from tests.production import production_broker
from tests.support import brain_process, broker, inception_weights, mosquitto, own_home, record
from tests.webhook import webhook

__all__ = [
    "brain_process",
    "broker",
    "inception_weights",
    "mosquitto",
    "own_home",
    "production_broker",
    "record",
    "webhook",
]
