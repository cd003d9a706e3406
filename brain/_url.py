"""Broker addresses: ``mqtt://user:pass@host:port`` and ``mqtts://`` for TLS."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from brain._errors import BrainError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


class BrokerUrlError(BrainError, ValueError):
    """A broker address that cannot be used; the message says how to write one."""


@dataclass(frozen=True, kw_only=True)
class BrokerUrl:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls: bool = False
    username: str | None = None
    password: str | None = None
    #: CA bundle for ``mqtts://`` with a private CA: ``mqtts://host?ca=/path/ca.crt``.
    ca_file: str | None = None

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerUrlError(
                f"broker URL {text!r} must start with mqtt:// or mqtts://, "
                "e.g. mqtt://user:pass@127.0.0.1:1883"
            )
        try:
            port = parts.port
        except ValueError:
            raise BrokerUrlError(f"broker URL {text!r} has a bad port number") from None
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or DEFAULT_HOST,
            port=port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_file=parse_qs(parts.query).get("ca", [None])[0],
        )

    def __str__(self) -> str:
        """The address without the password, safe to log."""
        return self._format(with_password=False)

    def with_secret(self) -> str:
        """The full address, password included, for handing to a child process."""
        return self._format(with_password=True)

    def _format(self, *, with_password: bool) -> str:
        user = quote(self.username or "", safe="")
        if user and with_password and self.password:
            user += f":{quote(self.password, safe='')}"
        at = "@" if user else ""
        query = f"?ca={self.ca_file}" if self.ca_file else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{user}{at}{self.host}:{self.port}{query}"
