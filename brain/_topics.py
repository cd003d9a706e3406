"""The topic tree of the contract, in one place, under a configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass


def strip_share(topic_filter: str) -> str:
    """``$share/group/a/b`` subscribes to ``a/b``; messages arrive on the plain topic."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


@dataclass(frozen=True)
class Topics:
    prefix: str = "brain"

    def sense(self, sense: str, source: str = "+", kind: str = "+") -> str:
        return f"{self.prefix}/senses/{sense}/{source}/{kind}"

    def perception(self, sense: str = "+", source: str = "+") -> str:
        return f"{self.prefix}/perceptions/{sense}/{source}"

    def alert(self, rule: str = "+") -> str:
        return f"{self.prefix}/alerts/{rule}"

    def command(self, node: str, source: str = "+") -> str:
        return f"{self.prefix}/commands/{node}/{source}"

    def status(self, node: str = "+") -> str:
        return f"{self.prefix}/status/{node}"

    def stats(self, node: str = "+") -> str:
        return f"{self.prefix}/stats/{node}"

    def error(self, node: str = "+") -> str:
        return f"{self.prefix}/errors/{node}"

    def everything(self) -> str:
        return f"{self.prefix}/#"

    @staticmethod
    def shared(group: str, topic_filter: str) -> str:
        """Spread a subscription over every member of ``group`` (MQTT 5 shared subscription)."""
        return f"$share/{group}/{topic_filter}"
