"""The twitter sense against recorded API exchanges (responses), on a real broker.

The node runs in this process, so `responses` answers its HTTP calls: the live
network is never used. The replies are shaped like the v2 API's documentation.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import structlog

from brain.bus import BrokerUrl, Topics
from brain.processes import EXIT_FATAL, run_node
from schemas import MentionEvent
from senses.twitter import Twitter, TwitterOptions
from tests.support import Broker, Recorder, topic_is

API = "https://api.twitter.com/2"
USER = {"id": "2244994945", "name": "Brain", "username": "thebrain"}
MENTIONS = f"brain/senses/twitter/{USER['username']}/mention"


def tweet(number: int) -> dict[str, Any]:
    tweet_id = str(1000 + number)
    return {
        "id": tweet_id,
        "text": f"@thebrain hello number {number}",
        "author_id": "900",
        "created_at": f"2026-11-24T10:0{number}:00.000Z",
        "edit_history_tweet_ids": [tweet_id],
    }


def page(*numbers: int, next_token: str | None = None) -> dict[str, Any]:
    """A mentions page as the API sends it: newest first, authors in `includes`."""
    tweets = [tweet(n) for n in sorted(numbers, reverse=True)]
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if tweets:
        meta |= {"newest_id": tweets[0]["id"], "oldest_id": tweets[-1]["id"]}
        if next_token:
            meta["next_token"] = next_token
        return {
            "data": tweets,
            "meta": meta,
            "includes": {"users": [{"id": "900", "name": "Alice", "username": "alice"}]},
        }
    return {"meta": meta}


@dataclass
class FakeApi:
    """Scripted replies for the mentions endpoint; after the script, no new mentions."""

    script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    asked: list[dict[str, list[str]]] = field(default_factory=list)

    def reply(self, body: dict[str, Any], status: int = 200, **headers: str) -> None:
        self.script.append((status, body, headers))

    def mentions(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.asked.append(parse_qs(urlsplit(request.url).query))
        status, body, headers = self.script.pop(0) if self.script else (200, page(), {})
        return status, headers, json.dumps(body)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{API}/users/by/username/thebrain", json={"data": USER})
        mock.add_callback(
            responses.GET, f"{API}/users/{USER['id']}/mentions", callback=fake.mentions
        )
        yield fake


@dataclass
class RunningNode:
    thread: threading.Thread
    stop: threading.Event
    result: list[int]

    def finish(self, timeout: float = 10) -> int:
        self.stop.set()
        self.thread.join(timeout)
        return self.result[0]


def run_twitter(broker: Broker, state: Path, **options: Any) -> RunningNode:
    settings = TwitterOptions(
        user="thebrain", bearer_token="secret-token", interval=0.2, state=state, **options
    )
    stop, result = threading.Event(), []
    thread = threading.Thread(
        target=lambda: result.append(
            run_node(
                Twitter,
                options=settings,
                url=BrokerUrl.parse(broker.url),
                topics=Topics(),
                stop=stop,
            )
        )
    )
    thread.start()
    return RunningNode(thread, stop, result)


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def published(recorder: Recorder) -> list[MentionEvent]:
    return [MentionEvent.model_validate_json(p) for _, p in recorder.matching(topic_is(MENTIONS))]


def test_new_mentions_are_published_once_following_pages(
    mosquitto: Broker, record: Callable[..., Recorder], api: FakeApi, tmp_path: Path
) -> None:
    seen = record(mosquitto, MENTIONS)
    api.reply(page(1, 2))  # first start: where "now" is; published neither
    api.reply(page(4, 5, next_token="more"))  # then two pages of new mentions
    api.reply(page(3))
    node = run_twitter(mosquitto, tmp_path / "state.json")
    seen.wait_for(topic_is(MENTIONS), count=3)
    wait_until(lambda: len(api.asked) >= 5)  # and some polls with nothing new
    assert node.finish() == 0
    mentions = published(seen)
    assert [m.tweet_id for m in mentions] == ["1003", "1004", "1005"]
    first = mentions[0]
    assert (first.author, first.author_name, first.text) == (
        "alice",
        "Alice",
        "@thebrain hello number 3",
    )
    assert first.url == "https://twitter.com/alice/status/1003"
    assert first.created.isoformat() == "2026-11-24T10:03:00+00:00"
    assert api.asked[1]["since_id"] == ["1002"]
    assert api.asked[2]["pagination_token"] == ["more"]
    assert json.loads((tmp_path / "state.json").read_text()) == {"since_id": "1005"}


def test_a_restart_with_its_state_publishes_nothing_twice(
    mosquitto: Broker, record: Callable[..., Recorder], api: FakeApi, tmp_path: Path
) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"since_id": "1005"}))
    seen = record(mosquitto, MENTIONS)
    api.reply(page(6))
    node = run_twitter(mosquitto, tmp_path / "state.json")
    seen.wait_for(topic_is(MENTIONS))
    wait_until(lambda: len(api.asked) >= 3)
    assert node.finish() == 0
    assert api.asked[0]["since_id"] == ["1005"]
    assert [m.tweet_id for m in published(seen)] == ["1006"]


def test_a_rate_limit_is_waited_out(
    mosquitto: Broker, record: Callable[..., Recorder], api: FakeApi, tmp_path: Path
) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"since_id": "1000"}))
    seen = record(mosquitto, MENTIONS)
    reset = str(int(time.time()) + 2)
    api.reply(
        {"title": "Too Many Requests", "status": 429},
        status=429,
        **{"x-rate-limit-reset": reset, "x-rate-limit-remaining": "0"},
    )
    api.reply(page(1))
    with structlog.testing.capture_logs() as logs:
        node = run_twitter(mosquitto, tmp_path / "state.json")
        seen.wait_for(topic_is(MENTIONS))
        asked_at = time.time()
        assert node.finish() == 0
    assert asked_at >= int(reset) - 1, "it asked again before the reset"
    assert any(entry["event"] == "rate limited; waiting for the reset" for entry in logs)
    assert [m.tweet_id for m in published(seen)] == ["1001"]


def test_a_refused_token_ends_the_node_with_one_clear_sentence(
    mosquitto: Broker, api: FakeApi, tmp_path: Path
) -> None:
    api.reply({"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, status=401)
    with structlog.testing.capture_logs() as logs:
        node = run_twitter(mosquitto, tmp_path / "state.json")
        node.thread.join(15)
    assert node.result == [EXIT_FATAL]
    [failure] = [entry for entry in logs if entry["event"] == "cannot run"]
    assert failure["reason"].startswith(
        "Twitter refused the token (HTTP 401): check BRAIN_TWITTER_BEARER_TOKEN"
    )
    assert "secret-token" not in json.dumps(logs, default=str)


def test_the_token_comes_from_the_environment_and_is_never_shown() -> None:
    from brain.config import load_settings

    settings = load_settings(
        env={"BRAIN_TWITTER_BEARER_TOKEN": "s3cret", "BRAIN_TWITTER_USER": "x"}
    )
    options = settings.options_for("twitter", TwitterOptions)
    assert isinstance(options, TwitterOptions) and options.bearer_token is not None
    assert options.bearer_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(options) and "s3cret" not in str(options)
