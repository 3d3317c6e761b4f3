"""Conditions on-call must hear about, one row per stable key.

Anything that notices trouble (a failed send, a batch that cannot fit its window, stale
data, dead letters) calls ``raise_condition``; the alerting actors decide when to e-mail.
Repeats only bump the count, so a storm of failures stays one row.
"""
from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow
from db.upsert import insert_ignoring_conflict

MAX_SAMPLES = 10


class Alert(db.Model):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across repeats, e.g. "send-failed:sms:21211" or "batch-overflow:L-1:2026-12-01".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    summary: Mapped[str] = mapped_column(Text)  # ids and counts only, never patient data
    count: Mapped[int] = mapped_column(Integer, default=0)
    sample_ids = mapped_column(JSON, nullable=False, default=list)
    first_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    # What has been e-mailed: the count at the last e-mail, and when.
    notified_count: Mapped[int] = mapped_column(Integer, default=0)
    last_notified_at = mapped_column(UTCDateTime, nullable=True)
    # Set while an e-mail about this alert waits in the queue (or retries through an
    # e-mail outage), so the minute tick does not pile up more messages (migration 0003).
    email_queued_at = mapped_column(UTCDateTime, nullable=True)


def raise_condition(key: str, kind: str, summary: str, *, sample_ids=(), count: int = 1) -> Alert:
    """Open (or re-open) the alert ``key``, or count one more occurrence of it.

    Runs in the caller's transaction; the row lock serialises concurrent raisers, a new
    key's included.
    """
    now = utcnow()
    # Created first if new, ON CONFLICT DO NOTHING: of two raisers of a new key at once (a
    # zone's parts planned on two connections), the second waits for the first's row and
    # counts on it, instead of failing on the unique key.
    insert_ignoring_conflict(Alert, {
        "key": key, "kind": kind, "status": "open", "summary": summary, "count": 0,
        "sample_ids": [], "first_seen_at": now, "last_seen_at": now, "notified_count": 0,
    }, "key")
    alert = db.session.execute(select(Alert).where(Alert.key == key).with_for_update()
                               ).scalar_one()
    if alert.status == "resolved":
        alert.status, alert.first_seen_at, alert.count = "open", now, 0
        alert.notified_count, alert.resolved_at, alert.sample_ids = 0, None, []
    alert.summary = summary
    alert.count += count
    alert.last_seen_at = now
    samples = list(alert.sample_ids or [])
    samples.extend(s for s in sample_ids if s not in samples)
    alert.sample_ids = samples[:MAX_SAMPLES]
    return alert


def resolve_condition(key: str) -> bool:
    """Mark the alert ``key`` resolved; True if it was open."""
    alert = db.session.execute(select(Alert).where(Alert.key == key).with_for_update()
                               ).scalar_one_or_none()
    if alert is None or alert.status != "open":
        return False
    alert.status, alert.resolved_at = "resolved", utcnow()
    return True
