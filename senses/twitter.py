"""Twitter mentions: "you were mentioned by @x", as mention events.

Polls the v2 API with tweepy. ``since_id`` lives in a state file, written after
every published mention, so a restart neither repeats nor loses one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
import tweepy
from pydantic import Field, SecretStr

from brain import FatalError, NodeOptions, Sense, state_dir
from schemas import MAX_TEXT_CHARS, MentionEvent, StatValue

PAGE_SIZE = 100


class TwitterOptions(NodeOptions):
    user: str = Field(default="", description="Whose mentions: a user name or a numeric id.")
    bearer_token: SecretStr | None = Field(
        default=None, description="From BRAIN_TWITTER_BEARER_TOKEN; never logged."
    )
    interval: float = Field(default=60.0, gt=0, description="Seconds between two polls.")
    state: Path | None = Field(
        default=None,
        description="File that keeps since_id [default: ~/.local/state/brain/twitter-USER.json].",
    )
    backfill: int = Field(
        default=0,
        ge=0,
        le=PAGE_SIZE,
        description="Mentions from before "
        "the first start to publish; later starts resume from the state.",
    )
    retry_max: float = Field(default=900.0, gt=0, description="Longest wait between retries.")


class Twitter(Sense[TwitterOptions]):
    """Publishes new mentions of a user, once each."""

    name = "twitter"
    Options = TwitterOptions
    publishes = (MentionEvent,)

    def start(self) -> None:
        options = self.options
        if options.bearer_token is None:
            raise FatalError(
                "no Twitter token: set BRAIN_TWITTER_BEARER_TOKEN to the bearer "
                "token of your app (developer.twitter.com)"
            )
        if not options.user:
            raise FatalError("no user to watch: set --set twitter.user=NAME")
        self._client = tweepy.Client(bearer_token=options.bearer_token.get_secret_value())
        self._account = options.user.lstrip("@")
        self._state = options.state or state_dir() / f"twitter-{self._account}.json"
        self._since_id = self._load_since_id()
        self._retry_in = 1.0

    def run(self, stop: threading.Event) -> None:
        user_id = self._until_answered(stop, self._user_id)
        while user_id is not None and not stop.is_set():
            mentions = self._until_answered(stop, lambda: self._new_mentions(user_id))
            for mention in mentions or []:
                if not self._delivered(mention):
                    break  # the broker went away: ask again from since_id later
                self._save_since_id(mention.tweet_id)
                self.stats.add("mentions")
            stop.wait(self.options.interval)

    def _delivered(self, mention: MentionEvent) -> bool:
        """Publish, and wait for the broker's acknowledgement before moving since_id on."""
        return self.bus.wait_confirmed(self.emit(mention), timeout=10)

    # -- talking to the API --------------------------------------------------------

    def _until_answered(self, stop: threading.Event, call: Any) -> Any:
        """``call()``, waiting out rate limits and retrying server and network errors."""
        while not stop.is_set():
            try:
                answer = call()
            except (tweepy.Unauthorized, tweepy.Forbidden) as error:
                raise FatalError(
                    f"Twitter refused the token ({_status(error)}): check "
                    "BRAIN_TWITTER_BEARER_TOKEN and the app's access level"
                ) from None
            except tweepy.NotFound:
                raise FatalError(
                    f"there is no Twitter user {self.options.user!r}: check twitter.user"
                ) from None
            except tweepy.TooManyRequests as error:
                wait = _seconds_until_reset(error)
                self.stats.add("rate_limited")
                self.log.warning("rate limited; waiting for the reset", wait_s=round(wait))
                stop.wait(wait)
            except (tweepy.TwitterServerError, requests.RequestException) as error:
                self.bus.report_error(
                    f"Twitter did not answer ({_status(error)}); retrying in {self._retry_in:g} s"
                )
                stop.wait(self._retry_in)
                self._retry_in = min(self.options.retry_max, self._retry_in * 2)
            else:
                self._retry_in = 1.0
                return answer
        return None

    def _user_id(self) -> str:
        if self._account.isdigit():
            return self._account
        user = self._client.get_user(username=self._account).data
        return str(user.id)

    def _new_mentions(self, user_id: str) -> list[MentionEvent]:
        """Every mention after since_id, following pages; the oldest first."""
        first_start = self._since_id is None
        backfill = self.options.backfill
        params: dict[str, Any] = {
            # The API serves 5 to 100 a page; a first start needs only what it backfills.
            "max_results": max(5, backfill) if first_start else PAGE_SIZE,
            "expansions": ["author_id"],
            "tweet_fields": ["created_at", "author_id"],
            "user_fields": ["username", "name"],
        }
        if self._since_id is not None:
            params["since_id"] = self._since_id
        mentions: list[MentionEvent] = []
        while True:
            page = self._client.get_users_mentions(user_id, **params)
            mentions.extend(self._events(page))
            token = (page.meta or {}).get("next_token")
            if first_start or not token:
                break
            params["pagination_token"] = token
        mentions.sort(key=lambda mention: int(mention.tweet_id))
        if first_start and not backfill:
            # A first start begins from now: the newest mention is where it resumes.
            if mentions:
                self._save_since_id(mentions[-1].tweet_id)
            self.log.info("watching mentions from now on", user=self._account)
            return []
        return mentions[-backfill:] if first_start else mentions

    def _events(self, page: tweepy.Response) -> list[MentionEvent]:
        authors = {str(user.id): user for user in (page.includes or {}).get("users", [])}
        events = []
        for tweet in page.data or []:
            author = authors.get(str(tweet.author_id))
            handle = author.username if author else str(tweet.author_id)
            events.append(
                MentionEvent(
                    source=self._account,
                    tweet_id=str(tweet.id),
                    author=handle,
                    author_name=(author.name if author else "")[:200],
                    text=tweet.text[:MAX_TEXT_CHARS],  # a long post is cut, not lost
                    created=tweet.created_at,
                    url=f"https://twitter.com/{handle}/status/{tweet.id}",
                )
            )
        return events

    # -- since_id on disk -----------------------------------------------------------

    def _load_since_id(self) -> str | None:
        try:
            since = json.loads(self._state.read_text())["since_id"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise FatalError(
                f"the state file {self._state} is damaged; delete it to start from now on"
            ) from None
        return str(since)

    def _save_since_id(self, tweet_id: str) -> None:
        self._state.parent.mkdir(parents=True, exist_ok=True)
        partial = self._state.with_suffix(".partial")
        partial.write_text(json.dumps({"since_id": tweet_id}))
        partial.replace(self._state)  # atomic: a crash leaves the old or the new, never half
        self._since_id = tweet_id

    def current_stats(self) -> dict[str, StatValue]:
        return {"since_id": self._since_id}


def _status(error: Exception) -> str:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return f"HTTP {code}" if code else type(error).__name__


def _seconds_until_reset(error: tweepy.TooManyRequests) -> float:
    reset = error.response.headers.get("x-rate-limit-reset")
    try:
        return max(1.0, float(reset) - time.time())
    except (TypeError, ValueError):
        return 60.0
