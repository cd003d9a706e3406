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
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import Field

from brain import FatalError, Node, NodeOptions, on
from schemas import Stats

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")
#: The metrics brain serves itself: no node's figure may take their names.
_UPTIME, _UP = "brain_uptime_seconds", "brain_node_up"
_LABELS = ["node", "source"]
#: What only counters, summaries and histograms end with.
_SUFFIXES = ("_total", "_created", "_count", "_sum", "_bucket")


class MetricsOptions(NodeOptions):
    host: str = Field(default="127.0.0.1", description="Address to serve /metrics on.")
    port: int = Field(default=9369, ge=0, le=65535, description="Port to serve /metrics on.")
    max_sources: int = Field(
        default=500,
        ge=1,
        description="Most node and source pairs served: whoever may publish stats cannot "
        "make Prometheus keep millions of series.",
    )
    forget_after: float = Field(
        default=600.0, gt=0, description="Seconds without figures before a source is forgotten."
    )


class Metrics(Node[MetricsOptions]):
    """Serves every node's figures to Prometheus on /metrics."""

    name = "metrics"
    Options = MetricsOptions

    def start(self) -> None:
        #: (node, source) -> their latest figures, and when they came (time.monotonic()).
        self._latest: dict[tuple[str, str], tuple[Stats, float]] = {}
        self._up: dict[str, bool] = {}
        self._said_full = False
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
    def stats_came(self, stats: Stats) -> None:
        key, now = (stats.node, stats.source), time.monotonic()
        with self._lock:
            self._forget(now)
            if key not in self._latest and len(self._latest) >= self.options.max_sources:
                self._full(f"{stats.node}/{stats.source}")
                return
            self._latest[key] = (stats, now)

    def node_status(self, topic: str, payload: bytes) -> None:
        node = self.topics.status_of(topic)
        with self._lock:
            if not payload:  # a status cleared: the node is gone for good
                self._up.pop(node, None)
            elif node in self._up or len(self._up) < self.options.max_sources:
                self._up[node] = payload == b"online"
            else:
                self._full(node)

    def _forget(self, now: float) -> None:
        """Drop the sources not heard from for ``forget_after``. Under the lock."""
        cutoff = now - self.options.forget_after
        for key in [key for key, (_, came) in self._latest.items() if came < cutoff]:
            del self._latest[key]

    def _full(self, whose: str) -> None:
        self.stats.add("sources_refused")
        if not self._said_full:  # once: a flood of made-up sources must not flood the log
            self._said_full = True
            self.log.warning(
                "too many sources of figures; the new ones are not served",
                first_refused=whose,
                max_sources=self.options.max_sources,
                fix="raise metrics.max_sources if you run that many nodes and cameras",
            )

    def collect(self) -> Iterator[Metric]:
        """What Prometheus gets at each scrape (on the server's thread)."""
        with self._lock:
            self._forget(time.monotonic())
            latest = [stats for stats, _ in self._latest.values()]
            up = dict(self._up)
        uptime = GaugeMetricFamily(_UPTIME, "Seconds since the node started", labels=_LABELS)
        families: dict[str, Metric] = {}
        # Every name a family has or shows (a counter's with _total): one family each.
        taken = {_UPTIME, _UP}
        for stats in latest:
            labels = [stats.node, stats.source]
            for figure, value in stats.figures.items():
                if isinstance(value, str) or value is None:
                    continue
                family = self._family(figure, figure in stats.counters, families, taken)
                if family is not None:
                    family.add_metric(labels, float(value))  # type: ignore[attr-defined]
            uptime.add_metric(labels, stats.uptime_s)
        running = GaugeMetricFamily(_UP, "1 while the node says online", labels=["node"])
        for node, online in sorted(up.items()):
            running.add_metric([node], 1.0 if online else 0.0)
        yield from families.values()
        yield uptime
        yield running

    @staticmethod
    def _family(
        figure: str, counter: bool, families: dict[str, Metric], taken: set[str]
    ) -> Metric | None:
        """The family of ``figure``, made at its first sample; None when it would read as
        another's (``node_up``; a reading ``x_total``, which reads as a counter's)."""
        name = "brain_" + _NOT_A_NAME.sub("_", figure)
        if counter:  # shown as NAME_total; prometheus_client takes the suffix off itself
            name = name.removesuffix("_total")
        kind = "counter" if counter else "gauge"
        if not counter and name.endswith(_SUFFIXES):  # they would read as another kind's
            return None
        if name in families:
            return families[name] if families[name].type == kind else None
        shown = f"{name}_total" if counter else name
        if name in taken or shown in taken:
            return None
        taken.update((name, shown))
        make = CounterMetricFamily if counter else GaugeMetricFamily
        families[name] = make(name, f"{figure}, from the nodes' stats", labels=_LABELS)
        return families[name]
