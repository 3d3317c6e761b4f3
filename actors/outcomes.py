"""Recording that a provider accepted a message: ``sending`` -> ``sent``, for a batch at once.

The answers a worker process's threads got at about the same time are recorded together
(actors.bookkeeping): one UPDATE for every row of the batch and one INSERT of their history
lines. A row a receipt already moved on (the receipt can come before the
answer) keeps its status and gets only what the answer adds; a thread returns once its row is
committed, so its message is acknowledged only then. A crash before that commit leaves the
row ``sending`` with its lease, and the next try asks the provider (actors.receipts).
"""
from typing import NamedTuple

from sqlalchemy import bindparam, text

from db import db, utcnow
from db.base import UTCDateTime


class Accepted(NamedTuple):
    notification_id: int
    provider: str
    message_id: str
    segments: int | None


#: One UPDATE for the batch and the history lines of the rows it moved. ``before`` locks the
#: rows first, so its status is the row this statement changes (a receipt may have moved it
#: on); arrays rather than VALUES keep the text the same for every batch.
_RECORD = text("""
    WITH answers AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:providers AS text[]),
                             CAST(:message_ids AS text[]), CAST(:segments AS integer[]))
            AS a(id, provider, message_id, segments)),
    changed AS (
        UPDATE notifications n SET
            status = CASE WHEN before.status = 'sending' THEN 'sent' ELSE n.status END,
            sent_at = CASE WHEN before.status = 'sending' THEN :now ELSE n.sent_at END,
            provider = CASE WHEN n.provider_message_id IS NULL THEN answers.provider
                            ELSE n.provider END,
            provider_message_id = COALESCE(n.provider_message_id, answers.message_id),
            segments = COALESCE(answers.segments, n.segments),
            claimed_until = NULL, updated_at = :now
        FROM answers, (SELECT n2.id, n2.status FROM notifications n2
                       WHERE n2.id = ANY(CAST(:ids AS bigint[]))
                       ORDER BY n2.id FOR UPDATE) AS before
        WHERE n.id = answers.id AND n.id = before.id
        RETURNING n.id, before.status AS from_status),
    history AS (
        INSERT INTO notification_events (notification_id, from_status, to_status, at, source)
        SELECT id, from_status, 'sent', :now, 'send' FROM changed
        WHERE from_status = 'sending')
    SELECT id FROM changed WHERE from_status = 'sending'
""").bindparams(bindparam("now", type_=UTCDateTime))


def record_rows(batch: list[Accepted]) -> list[bool]:
    """Per answer, True if it moved its row to ``sent``; in the caller's transaction."""
    moved = set(db.session.scalars(_RECORD, {
        "ids": [item.notification_id for item in batch],
        "providers": [item.provider for item in batch],
        "message_ids": [item.message_id for item in batch],
        "segments": [item.segments for item in batch], "now": utcnow()}))
    return [item.notification_id in moved for item in batch]
