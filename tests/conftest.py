"""Fixtures live beside the helpers they use (tests/support.py, tests/webhook.py);
pytest finds them here. Tests that start a broker, a process, Chromium or a neural
model are marked ``slow``: ``make test-fast`` runs the others after each edit."""

from __future__ import annotations

import pytest

from tests.chromium import chromium, page, server
from tests.people import family_gallery
from tests.production import production_broker
from tests.scenes import people_weights
from tests.support import brain_process, broker, inception_weights, mosquitto, own_home, record
from tests.webhook import webhook

__all__ = [
    "brain_process",
    "broker",
    "chromium",
    "family_gallery",
    "inception_weights",
    "mosquitto",
    "own_home",
    "page",
    "people_weights",
    "production_broker",
    "record",
    "server",
    "webhook",
]

#: Fixtures that start something real: a broker, a process, a server, a browser.
_SLOW_FIXTURES = {
    "brain_process", "broker", "chromium", "family_gallery", "inception_weights", "mosquitto",
    "page", "production_broker", "prometheus", "record", "server", "small_disk", "webhook",
}  # fmt: skip
#: Modules whose every test loads TensorFlow, OpenVINO, a model or a real photo set, or
#: starts brain itself.
_SLOW_MODULES = {
    "test_embedded_broker", "test_engines", "test_faces", "test_models", "test_people",
    "test_photos", "test_privacy", "test_train",
}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _SLOW_FIXTURES or item.module.__name__.rsplit(".", 1)[-1] in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
