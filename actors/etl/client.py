"""The upstream appointment API, read one page at a time, each page whole or not at all.

The API fails about one request in ten (docs/architecture.md, "The upstream API"): 5xx,
429 with Retry-After, timeouts, connection resets, truncated or malformed bodies. Every
such failure retries the same page with exponential backoff and full jitter, until the
page reads cleanly, its retries run out, or the pull's time budget is spent. Anything that
would need a person (a refused token, a 404) stops the pull at once instead of hammering
the API.
"""
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

#: Statuses that say "try again": the server's trouble, or being told to slow down.
RETRYABLE_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


class UpstreamError(Exception):
    """The pull cannot go on; ``retries`` and ``failures`` say what it went through."""

    def __init__(self, message: str, *, retries: int = 0, failures: Counter | None = None):
        super().__init__(message)
        self.retries, self.failures = retries, failures or Counter()


class BudgetSpent(UpstreamError):
    """The pull's time budget ran out before the page could be read."""


class PageUnavailable(UpstreamError):
    """The page failed on every one of its retries."""


class UpstreamRefused(UpstreamError):
    """The API answered in a way retrying cannot fix (bad token, bad request, a loop)."""


class RetryPage(Exception):
    """This read of a page cannot be used; read it again. ``kind`` names why."""

    def __init__(self, kind: str, retry_after: float | None = None):
        super().__init__(kind)
        self.kind, self.retry_after = kind, retry_after


@dataclass(frozen=True)
class RetryPolicy:
    retries: int  # per page, after the first attempt
    base_seconds: float
    max_seconds: float
    retry_after_max_seconds: float

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter (AWS architecture blog), never shorter than a capped Retry-After."""
        delay = rng.uniform(0, min(self.max_seconds, self.base_seconds * 2 ** retry))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max_seconds))
        return delay


@dataclass
class Page:
    records: list
    next_token: str | None
    retries: int = 0
    failures: Counter = field(default_factory=Counter)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _page_body(response: requests.Response) -> dict:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise RetryPage("truncated-json") from None
    if (not isinstance(body, dict) or not isinstance(body.get("appointments"), list)
            or "next_page_token" not in body
            or not isinstance(body["next_page_token"], (str, type(None)))):
        raise RetryPage("malformed-page")
    return body


class UpstreamClient:
    def __init__(self, base_url: str, token: str | None, *, connect_timeout: float,
                 read_timeout: float, policy: RetryPolicy, rng: random.Random | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.base_url = base_url.rstrip("/")
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.policy, self.rng = policy, rng or random.Random()
        self.sleep, self.clock = sleep, clock
        self.session = requests.Session()
        # Retries are ours, per page, with the budget in view; urllib3 must not add its own.
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=0))
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def _get(self, params: dict, deadline: float) -> dict:
        remaining = deadline - self.clock()
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        try:
            response = self.session.get(f"{self.base_url}/appointments", params=params,
                                        timeout=timeout)
        except requests.Timeout:
            raise RetryPage("timeout") from None
        except requests.exceptions.ChunkedEncodingError:
            raise RetryPage("truncated-json") from None
        except requests.ConnectionError:
            raise RetryPage("connection") from None
        if response.status_code in RETRYABLE_STATUSES:
            raise RetryPage(f"http-{response.status_code}",
                            _retry_after(response.headers.get("Retry-After")))
        if response.status_code != 200:
            raise UpstreamRefused(f"upstream answered HTTP {response.status_code}")
        return _page_body(response)

    def read_page(self, window_from: date, window_to: date, token: str | None, *,
                  deadline: float, inspect: Callable[[dict], None] | None = None) -> Page:
        """Read one page, retrying until it reads cleanly; ``inspect`` may ask for a re-read
        (by raising RetryPage) when the page's content looks damaged in transit."""
        params = {"from": window_from.isoformat(), "to": window_to.isoformat()}
        if token is not None:
            params["page_token"] = token
        failures: Counter = Counter()
        for attempt in range(self.policy.retries + 1):
            if self.clock() >= deadline:
                raise BudgetSpent("time budget spent", retries=attempt, failures=failures)
            try:
                body = self._get(params, deadline)
                if inspect is not None:
                    inspect(body)
            except RetryPage as retry:
                failures[retry.kind] += 1
                if attempt == self.policy.retries:
                    break
                delay = self.policy.delay(attempt, retry.retry_after, self.rng)
                if self.clock() + delay >= deadline:
                    raise BudgetSpent("time budget spent", retries=attempt,
                                      failures=failures) from None
                log.info("upstream page retry", extra={"failure": retry.kind, "retry": attempt + 1,
                                                       "delay_s": round(delay, 3)})
                self.sleep(delay)
                continue
            except UpstreamRefused as refused:
                refused.retries, refused.failures = attempt, failures
                raise
            if body["next_page_token"] is not None and body["next_page_token"] == token:
                raise UpstreamRefused("upstream repeated the page token", retries=attempt,
                                      failures=failures)
            return Page(body["appointments"], body["next_page_token"], attempt, failures)
        raise PageUnavailable("page failed on every retry", retries=self.policy.retries,
                              failures=failures)
