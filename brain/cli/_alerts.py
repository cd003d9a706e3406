"""``brain alerts arm|disarm RULE``: arming the alert rules from the command line."""

from __future__ import annotations

import threading

import click

from brain._bus import Bus
from brain._topics import Topics
from brain.cli._group import main
from brain.cli._options import SharedOptions, shared_options, user_errors, with_shared
from schemas import Command, ErrorEvent, State

_WAIT = click.option(
    "--wait",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds to wait for the alerts node to confirm.",
)


@main.group()
@shared_options
def alerts() -> None:
    """The alert rules: arm and disarm them while brain runs."""


def _command(order: str, help_text: str) -> None:
    """``brain alerts arm`` and ``brain alerts disarm``: the same but for the order."""

    @click.argument("rule")
    @_WAIT
    @with_shared
    def send(options: SharedOptions, rule: str, wait: float) -> None:
        _order(options, rule, order, wait)

    alerts.command(order, help=help_text)(send)


_command("arm", "Arm RULE: it delivers its alerts again.")
_command("disarm", "Disarm RULE: it still publishes what it sees, but delivers nothing.")


def _order(options: SharedOptions, rule: str, command: str, wait: float) -> None:
    """Send the command and wait for the alerts node's answer: the rule's new state, or
    an error event about the command."""
    settings = options.settings()
    topics = Topics(settings.prefix)
    bus = Bus(node="cli", url=options.login("owner"), topics=topics, presence=False)
    order = Command(source="cli", command=command, reason="brain alerts on the command line")
    answered = threading.Event()
    answer: list[str] = []

    def stated(state: State, _topic: str) -> None:
        if state.cause == order.id:
            answer.append(f"rule {rule} is {state.value}")
            answered.set()

    def refused(error: ErrorEvent, _topic: str) -> None:
        if error.cause == order.id:
            answer.append(f"error: {error.reason}")
            answered.set()

    bus.subscribe(State, stated, node="alerts", name=rule)
    bus.subscribe(ErrorEvent, refused, node="alerts")
    with user_errors():
        bus.connect(timeout=10)
    try:
        bus.wait_confirmed(bus.publish(order, node="alerts", target=rule), wait)
        if not answered.wait(wait):
            raise click.ClickException(
                f"no alerts node answered within {wait:g} s; start one with "
                "`brain run alerts` (it gets the command when it connects again)"
            )
    finally:
        bus.close()
    if answer[0].startswith("error: "):
        raise click.ClickException(answer[0].removeprefix("error: "))
    click.echo(answer[0])
