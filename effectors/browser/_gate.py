"""Who may open the page: the holder of the token, from a page of our own origin.

The token is in the address the node prints (as Jupyter does); the page's first
load turns it into a cookie, so the page's files and reloads need no token in
their address. The websocket also checks the Origin header, so another site open
in the same browser cannot use the cookie to reach the webcam's bus.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

COOKIE = "brain-token"


def lasting_token(path: Path) -> str:
    """The token kept in ``path`` (made on first use), so a restarted node keeps its address."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if not token:
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(token)
    return token


@dataclass(frozen=True)
class Gate:
    token: str
    origins: frozenset[str] = frozenset()

    def admits(self, request: web.Request) -> bool:
        offered = request.query.get("token") or request.cookies.get(COOKIE, "")
        return secrets.compare_digest(offered.encode(), self.token.encode())

    def trusts_origin(self, request: web.Request) -> bool:
        """Our own origin or a configured one; no Origin header: not a browser page."""
        origin = request.headers.get("Origin")
        return origin is None or origin in {f"{request.scheme}://{request.host}", *self.origins}

    def remember(self, request: web.Request, response: web.StreamResponse) -> None:
        """Give the browser the token as a cookie once it came in the address."""
        if request.query.get("token") and request.cookies.get(COOKIE) != self.token:
            response.set_cookie(
                COOKIE,
                self.token,
                httponly=True,
                samesite="Strict",
                secure=request.secure,
                max_age=30 * 24 * 3600,
            )
