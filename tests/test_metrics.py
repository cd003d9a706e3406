"""The metrics node: the nodes' figures on /metrics, scraped by a real Prometheus server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from brain.testing import MemoryBroker, free_port, running, send
from effectors import metrics as metrics_module
from effectors.metrics import Metrics
from schemas import Stats
from tests.support import ROOT, TEST_PLUGINS, Broker, NodeProcess, wait_until_serving
from tests.test_cortex import frame, show

PROMETHEUS = shutil.which("prometheus")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]]:
    """Each sample of /metrics: (name, labels) -> (the family's type, value)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): (family.type, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_become_counters_readings_gauges_and_status_says_who_is_up() -> None:
    broker = MemoryBroker()
    with running(Metrics, broker, options={"port": 0}) as node:
        figures = {"frames_in": 12, "errors": 2, "queue_depth": 3, "inference_ms": 41.5,
                   "connected": True, "model": "colours"}  # fmt: skip
        send(broker, Stats(source="door", node="camera", uptime_s=9.0, figures=figures,
                           counters=["frames_in", "errors"]))  # fmt: skip
        broker.publish("brain/status/camera", "online", retain=True)
        broker.publish("brain/status/speaker", "stopped", retain=True)
        node.idle()
        assert isinstance(node.node, Metrics)
        samples = scrape(node.node.address)
    door = (("node", "camera"), ("source", "door"))
    assert samples[("brain_frames_in_total", door)] == ("counter", 12.0)
    assert samples[("brain_errors_total", door)] == ("counter", 2.0)
    assert samples[("brain_queue_depth", door)] == ("gauge", 3.0)
    assert samples[("brain_inference_ms", door)] == ("gauge", 41.5)
    assert samples[("brain_connected", door)] == ("gauge", 1.0)
    assert samples[("brain_uptime_seconds", door)] == ("gauge", 9.0)
    assert samples[("brain_node_up", (("node", "camera"),))] == ("gauge", 1.0)
    assert samples[("brain_node_up", (("node", "speaker"),))] == ("gauge", 0.0)
    assert not [name for name, _ in samples if "model" in name]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A Prometheus server on a free port; call it with the target to scrape, get its URL."""
    if PROMETHEUS is None:
        pytest.skip("needs Debian's prometheus")
    process: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs: [{{job_name: brain, static_configs: [{{targets: ['{target}']}}]}}]\n"
        )
        process.append(
            subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / "prometheus.log").open("wb"),
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for running_process in process:
        running_process.terminate()
        running_process.wait(timeout=30)


def query(server: str, promql: str, *, at_least: float, timeout: float = 180) -> float:
    """Ask Prometheus until ``promql`` is at least ``at_least``; the value it gave."""
    deadline, value = time.monotonic() + timeout, None
    url = f"{server}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                result = json.load(response)["data"]["result"]
        except OSError:  # not listening yet
            result = []
        if result and (value := float(result[0]["value"][1])) >= at_least:
            return value
        time.sleep(0.5)
    raise AssertionError(f"Prometheus said {value} for {promql}, waited for {at_least}")


def test_prometheus_scrapes_and_stores_a_figure_the_test_caused(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    prometheus: Callable[[str], str],
) -> None:
    port = free_port()
    metrics = brain_process(
        "--mqtt", mosquitto.url, "--set", f"metrics.port={port}", "node", "metrics"
    )
    metrics.wait_online(mosquitto, "metrics")  # it serves before it connects
    server = prometheus(f"127.0.0.1:{port}")
    cortex = brain_process(
        "--mqtt",
        mosquitto.url,
        "--plugins-dir",
        str(TEST_PLUGINS),
        "--set",
        "cortex.model=colours",
        "--set",
        "cortex.stats_interval=0.5",
        "node",
        "cortex",
    )
    wait_until_serving(cortex, mosquitto)
    good = frame("green")
    broken = [
        good.model_copy(update={"data": b"not an image", "id": f"bad{n}", "source": f"b{n}"})
        for n in range(3)
    ]
    show(mosquitto, *broken, good)
    errors = query(server, 'brain_errors_total{node="cortex"}', at_least=3)
    seen = query(server, 'brain_frames_in_total{node="cortex"}', at_least=4)
    up = query(server, 'brain_node_up{node="cortex"}', at_least=1)
    assert (errors, seen, up) == (3.0, 4.0, 1.0)


def test_the_grafana_dashboard_asks_only_for_metrics_brain_serves() -> None:
    dashboard = json.loads((ROOT / "examples/grafana/brain-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    names = {name for expr in expressions for name in re.findall(r"\bbrain_[a-z_]+", expr)}
    assert len(names) >= 10
    code = "\n".join(
        path.read_text()
        for folder in ("brain", "senses", "effectors")
        for path in (ROOT / folder).rglob("*.py")
    )
    served_always = {"brain_node_up", "brain_uptime_seconds"}
    for name in names - served_always:
        figure = name.removeprefix("brain_").removesuffix("_total")
        assert f'"{figure}"' in code, f"{name}: no node reports a figure {figure!r}"


def test_a_port_in_use_is_one_sentence_and_no_restart() -> None:
    broker = MemoryBroker()
    with running(Metrics, broker, options={"port": 0}) as first:
        assert isinstance(first.node, Metrics)
        taken = first.node.address.rsplit(":", 1)[1].split("/")[0]
        with (
            pytest.raises(RuntimeError, match="stopped with status 78 before it was online"),
            running(Metrics, broker, options={"port": int(taken)}),
        ):
            pass


def test_made_up_sources_and_names_cannot_blow_up_or_break_the_scrape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(metrics_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    broker = MemoryBroker()
    with running(Metrics, broker, options={"port": 0, "max_sources": 50}) as node:
        for n in range(80):  # made up by whoever may publish stats
            send(broker, Stats(source=f"s{n}", node="camera", uptime_s=1.0,
                               figures={"frames": n}, counters=["frames"]))  # fmt: skip
            node.idle()  # each handled: none dropped from the inbox
        clashing = {"node_up": 5, "uptime_seconds": 3, "x_total": 1, "x": 2, "y": 1}
        send(broker, Stats(source="s0", node="camera", uptime_s=1.0, figures=clashing,
                           counters=["x", "y"]))  # fmt: skip
        send(broker, Stats(source="s1", node="camera", uptime_s=1.0, figures={"y": 4}))
        node.idle()
        assert isinstance(node.node, Metrics)
        with urllib.request.urlopen(node.node.address, timeout=30) as response:
            text = response.read()
        assert node.stats()["sources_refused"] == 80 - 50
        now[0] += 601  # ten minutes without figures: every source is forgotten
        send(broker, Stats(source="new", node="camera", uptime_s=1.0, figures={"frames": 1},
                           counters=["frames"]))  # fmt: skip
        node.idle()
        later = scrape(node.node.address)
    shown = text.decode()
    assert shown.count("brain_uptime_seconds{") == 50  # the sources it may serve, no more
    assert shown.count("brain_node_up{") == 1  # the metrics node's own: no figure's
    assert shown.count("brain_x_total{") == 1  # the counter x; not the reading x_total
    assert {dict(labels)["source"] for name, labels in later if name == "brain_frames_total"} == {
        "new"
    }
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode() + checked.stdout.decode()
