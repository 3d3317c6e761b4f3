"""The upstream client against the simulator: what it retries, how long it waits, when it stops."""
import random
import time
from datetime import date

import pytest

from actors.etl.client import (
    BudgetSpent,
    PageUnavailable,
    RetryPolicy,
    UpstreamClient,
    UpstreamRefused,
)
from fakes.upstream import UpstreamSimulator
from tests.actors.etl.support import TOKEN

DAY = date(2030, 1, 7)


@pytest.fixture
def simulator():
    # A read timeout of a second, not a fifth: a loaded CI machine once took longer than 0.2 s
    # to answer a 5xx, which the test then saw as a timeout.
    sim = UpstreamSimulator(token=TOKEN, page_size=10, timeout_seconds=1.5).start()
    sim.seed(25, start=DAY, days=1)
    yield sim
    sim.stop()


def _client(sim, *, token=TOKEN, retries=5, retry_after_max=7.0, sleeps=None):
    policy = RetryPolicy(retries=retries, base_seconds=0.1, max_seconds=2.0,
                         retry_after_max_seconds=retry_after_max)
    return UpstreamClient(sim.url, token, connect_timeout=1.0, read_timeout=1.0, policy=policy,
                          rng=random.Random(3),
                          sleep=(sleeps.append if sleeps is not None else lambda s: None))


def _far():
    return time.monotonic() + 60


def test_pages_follow_the_token_until_it_is_null(simulator):
    client = _client(simulator)
    first = client.read_page(DAY, DAY, None, deadline=_far())
    second = client.read_page(DAY, DAY, first.next_token, deadline=_far())
    third = client.read_page(DAY, DAY, second.next_token, deadline=_far())
    assert [len(p.records) for p in (first, second, third)] == [10, 10, 5]
    assert third.next_token is None and first.retries == 0


@pytest.mark.parametrize("kind, failure", [
    ("5xx", "http-5"), ("timeout", "timeout"), ("reset", "connection"),
    ("truncated", "truncated-json")])
def test_every_transport_failure_is_retried(simulator, kind, failure):
    simulator.fail(1.0, kinds=[kind])
    sleeps = []
    client = _client(simulator, retries=2, sleeps=sleeps)
    with pytest.raises(PageUnavailable) as stopped:
        client.read_page(DAY, DAY, None, deadline=_far())
    assert stopped.value.retries == 2 and len(sleeps) == 2
    assert all(k.startswith(failure) for k in stopped.value.failures)
    simulator.fail(0.0)
    assert len(client.read_page(DAY, DAY, None, deadline=_far()).records) == 10


def test_retry_after_is_honoured_up_to_its_cap(simulator):
    simulator.retry_after = 5
    simulator.fail(1.0, kinds=["429"])
    sleeps = []
    with pytest.raises(PageUnavailable):
        _client(simulator, retries=3, sleeps=sleeps).read_page(DAY, DAY, None, deadline=_far())
    assert sleeps == [5.0, 5.0, 5.0]  # longer than the backoff, so Retry-After wins

    simulator.retry_after = 600
    capped = []
    with pytest.raises(PageUnavailable):
        _client(simulator, retries=2, sleeps=capped).read_page(DAY, DAY, None, deadline=_far())
    assert capped == [7.0, 7.0]


def test_backoff_is_full_jitter_under_a_doubling_ceiling():
    policy = RetryPolicy(retries=10, base_seconds=0.1, max_seconds=2.0, retry_after_max_seconds=1)
    rng = random.Random(5)
    for retry in range(10):
        delays = [policy.delay(retry, None, rng) for _ in range(200)]
        ceiling = min(2.0, 0.1 * 2 ** retry)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread, not fixed


def test_a_refused_token_stops_at_once(simulator):
    sleeps = []
    with pytest.raises(UpstreamRefused, match="HTTP 401"):
        _client(simulator, token="wrong", sleeps=sleeps).read_page(DAY, DAY, None,
                                                                    deadline=_far())
    assert sleeps == [] and simulator.requests == 0  # 401 is answered before counting


def test_no_wait_runs_past_the_budget(simulator):
    simulator.down()
    sleeps = []
    client = _client(simulator, retries=1000, sleeps=sleeps)
    deadline = time.monotonic() + 0.3
    with pytest.raises(BudgetSpent) as stopped:
        client.read_page(DAY, DAY, None, deadline=deadline)
    assert stopped.value.failures["http-503"] >= 1
    # Each wait would have been 1 s (Retry-After): none could fit, so none was taken.
    assert sleeps == []
