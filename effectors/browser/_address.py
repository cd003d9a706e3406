"""Where the page is served: https away from this machine, and an address a phone can type."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from pathlib import Path

from brain import FatalError


def tls_context(host: str, cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """https when a certificate is given; required away from localhost (getUserMedia)."""
    if cert is None and key is None:
        if not is_loopback(host):
            raise FatalError(
                f"listening on {host} needs https, since browsers only open the "
                "webcam on a secure page: give --set browser.cert=FILE and browser.key=FILE"
            )
        return None
    if cert is None or key is None:
        raise FatalError("https needs both browser.cert and browser.key; give the missing one")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise FatalError(
            f"cannot use the certificate {cert} with the key {key} ({error}); "
            "give a PEM certificate and its private key"
        ) from None
    return context


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shown_host(host: str) -> str:
    """An address a phone on the same network can type, when listening on every address:
    this machine's own on that network (a phone seldom resolves its name)."""
    if host not in {"0.0.0.0", "::", ""}:
        return f"[{host}]" if ":" in host else host
    return network_address() or socket.getfqdn()


def network_address() -> str | None:
    """The address this machine's default route leaves from; None without a network.
    Connecting a UDP socket only looks the route up: no packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never a real host
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address
