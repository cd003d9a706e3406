"""The browser node: a web page that sees through the webcam, speaks and listens."""

from effectors.browser._node import Browser, BrowserOptions

__all__ = ["Browser", "BrowserOptions"]
