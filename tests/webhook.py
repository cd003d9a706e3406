"""A JSON webhook of the test's own on 127.0.0.1, for alerts to be delivered to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from brain.testing import free_port


class Webhook:
    """A JSON webhook on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.delay = delay  # seconds each delivery takes: a slow target
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        received, delay = self.received, self.delay

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                time.sleep(delay)
                received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhooks"
            time.sleep(0.05)
        return self.received


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.up()
    yield hook
    hook.down()
