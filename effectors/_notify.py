"""Delivery to people, through apprise (ntfy, Telegram, e-mail, JSON webhooks, ...)."""

from __future__ import annotations

import logging

import apprise
from apprise.attachment.memory import AttachMemory

from effectors._outbox import Delivery


def send(delivery: Delivery) -> str | None:
    """Deliver one alert to its target; None on success, else why it failed."""
    notifier = apprise.Apprise()
    if not notifier.add(delivery.target):
        return "the target URL is not one apprise understands"
    attachments = None
    if delivery.snapshot:
        attachments = apprise.AppriseAttachment()
        attachments.add(
            AttachMemory(content=delivery.snapshot, name="snapshot.jpg", mimetype="image/jpeg")
        )
    # apprise explains failures in its log; catch them to say why in ours.
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(title=delivery.title, body=delivery.body, attach=attachments)
    if ok:
        return None
    lines = captured.getvalue().strip().splitlines()
    return lines[-1] if lines else "the target refused the notification"


def privately(target: str) -> str:
    """The target URL with its secrets hidden, for logs."""
    instance = apprise.Apprise.instantiate(target)
    return instance.url(privacy=True) if instance is not None else "<invalid URL>"
