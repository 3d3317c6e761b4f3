"""Retries as Dramatiq means them: ``dramatiq.Retry`` with the delay Dramatiq would use.

A retry is normal work: the Retries middleware re-enqueues the message after the delay, the
worker logs no error and Sentry's Dramatiq integration records no event for a ``Retry``;
the actor logs one WARNING line naming the notification and the provider's code.

The delay is ``dramatiq.common.compute_backoff`` with the message's own backoff options, so
the deadline check sees the very delay the message will wait. A database outage is retried
too, without end and without using up the message's retries: the outage is not the
message's fault, and it must not send the message to the dead-letter queue
(docs/architecture.md, "Crashes and outages").
"""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

import dramatiq
from dramatiq.common import compute_backoff
from dramatiq.middleware import CurrentMessage
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from db import utcnow

#: The longest wait between two tries while the database is unreachable.
OUTAGE_MAX_BACKOFF_MS = 10_000
_OUTAGES = "outage_retries"  # a message option: the tries the database was away for
#: The options of the reminder a batch message is sending now (actors.batches), read and
#: written in place of the batch message's own.
_OWN_OPTIONS: ContextVar[dict | None] = ContextVar("own_message_options", default=None)


class DatabaseUnavailable(dramatiq.Retry):
    """The database could not be reached; try the message again once it is back."""


def database_unavailable(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@contextmanager
def own_message(options: dict):
    """Inside, every retry decision reads and counts in ``options`` instead of the current
    message's: a reminder sent from a batch retries as if it had been its own message."""
    token = _OWN_OPTIONS.set(options)
    try:
        yield
    finally:
        _OWN_OPTIONS.reset(token)


def _options() -> dict:
    own = _OWN_OPTIONS.get()
    if own is not None:
        return own
    message = CurrentMessage.get_current_message()
    return message.options if message is not None else {}


def next_delay_ms() -> int:
    """The delay before the next try of the current message, as the Retries middleware
    would compute it from the message's retries and backoff options."""
    options = _options()
    _, delay = compute_backoff(options.get("retries", 0), factor=options.get("min_backoff", 1000),
                               max_backoff=options.get("max_backoff", 30_000))
    return delay


def next_try_at(delay_ms: int) -> datetime:
    return utcnow() + timedelta(milliseconds=delay_ms)


def _uncounted(options: dict) -> None:
    # The Retries middleware adds one to ``retries``; taking it here first leaves the count
    # as it was, so the wait does not bring the message nearer its dead-letter queue.
    options["retries"] = options.get("retries", 0) - 1


def waiting_retry(delay_ms: int) -> dramatiq.Retry:
    """The Retry of a duplicate message that waits for another attempt's lease: not a
    failure of this message, so its retries stay as they were."""
    _uncounted(_options())
    return dramatiq.Retry("attempt in progress", delay=delay_ms)


def outage_retry(what: str) -> DatabaseUnavailable:
    """The Retry to raise when the database is away: waits at most 10 s between tries and
    leaves the message's retries as they were."""
    options = _options()
    outages = options.get(_OUTAGES, 0)
    options[_OUTAGES] = outages + 1
    _uncounted(options)
    _, delay = compute_backoff(outages, factor=options.get("min_backoff", 1000),
                               max_backoff=OUTAGE_MAX_BACKOFF_MS)
    return DatabaseUnavailable(f"{what}: database unavailable", delay=delay)
