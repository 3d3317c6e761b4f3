"""The send path's bookkeeping: claims and recorded answers, one transaction per batch.

Every thread of a worker process that is about to send (a claim) or has a provider's answer
(a record) hands its item to the process's ``GroupCommit``; the leader writes the answers
first, then the claims, and commits once for all of them. At low provider latency the
transactions, not the sends, were the cost: a claim and a record per message, each a
checkout, a BEGIN, its statements and a WAL flush. Each thread returns once its item is
committed, so every guarantee of one transaction per step holds (actors.claims,
actors.outcomes). A batch message (actors.batches) claims its reminders in one submission and
records their answers as it goes, waiting for them all before its message is acknowledged.
"""
from flask import current_app

from actors.claims import Claim, claim_rows
from actors.group_commit import Pending, per_app
from actors.outcomes import Accepted, record_rows
from db import db

_CLAIM, _SENT = "claim", "sent"


def claim(notification_id: int) -> Claim | None:
    """What to send for this notification now, or None when nothing is to be sent (it was
    sent, decided against, paused or is unknown). Raises ``AttemptInProgress`` while
    another attempt holds the lease."""
    return _group().submit((_CLAIM, notification_id))


def claim_all(notification_ids: list[int]) -> list:
    """``claim`` of each id, all in one submission: per id a ``Claim``, None, or the
    exception its own ``claim`` would have raised (returned, not raised)."""
    group = _group()
    out = []
    for pending in [group.put((_CLAIM, i)) for i in notification_ids]:
        try:
            out.append(group.wait(pending))
        except Exception as error:  # noqa: BLE001 - that id's outcome, raised in its place
            out.append(error)
    return out


def record_sent(notification_id: int, *, provider: str, message_id: str,
                segments: int | None) -> bool:
    """Record the provider's acceptance; True if it moved the row to ``sent`` (False when a
    receipt had already done so, or the row is no longer being sent)."""
    return recorded(record_sent_later(notification_id, provider=provider,
                                      message_id=message_id, segments=segments))


def record_sent_later(notification_id: int, *, provider: str, message_id: str,
                      segments: int | None) -> Pending:
    """``record_sent`` without waiting: it is written with the process's next batch; the
    caller must wait for it (``recorded``) before its message is acknowledged."""
    return _group().put((_SENT, Accepted(notification_id, provider, message_id, segments)))


def recorded(pending: Pending) -> bool:
    """What ``record_sent`` returns, once ``pending`` is committed."""
    return _group().wait(pending)


def _group():
    return per_app(current_app._get_current_object(), "bookkeeping", _write)


def _write(items: list[tuple[str, object]]) -> list:
    answers = [(i, item) for i, (kind, item) in enumerate(items) if kind == _SENT]
    claims = [(i, item) for i, (kind, item) in enumerate(items) if kind == _CLAIM]
    results: list = [None] * len(items)
    if answers:
        for (index, _), moved in zip(answers, record_rows([a for _, a in answers]),
                                     strict=True):
            results[index] = moved
    if claims:
        for (index, _), claimed in zip(claims, claim_rows([c for _, c in claims]),
                                       strict=True):
            results[index] = claimed
    db.session.commit()
    return results
