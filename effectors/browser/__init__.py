"""The browser node: a web page that sees through the webcam, speaks and listens."""

from effectors.browser._node import Browser, BrowserOptions
from effectors.browser._server import STATIC

__all__ = ["STATIC", "Browser", "BrowserOptions"]
