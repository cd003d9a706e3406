"""Prometheus: every node's figures from ``{prefix}/stats/#``, served on ``/metrics``.

Counts (frames in, dropped, errors, alerts delivered...) become counters
``brain_<figure>_total``, readings (queue depth, inference ms, connected, outbox
waiting...) gauges ``brain_<figure>``, each labelled with the node and its source;
``brain_node_up`` says which nodes are online. Text figures (a model's name) are
left out: Prometheus keeps numbers.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import Field

from brain import FatalError, Node, NodeOptions, on
from schemas import Stats

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")


class MetricsOptions(NodeOptions):
    host: str = Field(default="127.0.0.1", description="Address to serve /metrics on.")
    port: int = Field(default=9369, ge=0, le=65535, description="Port to serve /metrics on.")


class Metrics(Node[MetricsOptions]):
    """Serves every node's figures to Prometheus on /metrics."""

    name = "metrics"
    Options = MetricsOptions

    def start(self) -> None:
        self._latest: dict[tuple[str, str], Stats] = {}
        self._up: dict[str, bool] = {}
        self._lock = threading.Lock()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        try:
            self._server, _ = start_http_server(
                self.options.port, addr=self.options.host, registry=registry
            )
        except OSError as error:
            raise FatalError(
                f"cannot serve /metrics on {self.options.host}:{self.options.port} "
                f"({error.strerror}); choose another port with --set metrics.port=N"
            ) from None
        self.address = f"http://{self.options.host}:{self._server.server_port}/metrics"
        self.listen(self.topics.status(), self.node_status)
        self.log.info("serving", url=self.address)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @on(Stats)
    def figures_came(self, stats: Stats) -> None:
        with self._lock:
            self._latest[(stats.node, stats.source)] = stats

    def node_status(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self._up[topic.rsplit("/", 1)[-1]] = payload == b"online"

    def collect(self) -> Iterator[Metric]:
        """What Prometheus gets at each scrape (on the server's thread)."""
        with self._lock:
            latest, up = list(self._latest.values()), dict(self._up)
        families: dict[str, Metric] = {}
        for stats in latest:
            labels = [stats.node, stats.source]
            counters = set(stats.counters)
            for figure, value in stats.figures.items():
                if isinstance(value, str) or value is None:
                    continue
                name = "brain_" + _NOT_A_NAME.sub("_", figure)
                if name not in families:
                    kind = CounterMetricFamily if figure in counters else GaugeMetricFamily
                    help_text = f"{figure}, from the nodes' stats"
                    families[name] = kind(name, help_text, labels=["node", "source"])
                families[name].add_metric(labels, float(value))  # type: ignore[attr-defined]
            uptime = families.setdefault(
                "brain_uptime_seconds",
                GaugeMetricFamily(
                    "brain_uptime_seconds",
                    "Seconds since the node started",
                    labels=["node", "source"],
                ),
            )
            uptime.add_metric(labels, stats.uptime_s)  # type: ignore[attr-defined]
        running = GaugeMetricFamily(
            "brain_node_up", "1 while the node says online", labels=["node"]
        )
        for node, online in sorted(up.items()):
            running.add_metric([node], 1.0 if online else 0.0)
        yield from families.values()
        yield running
