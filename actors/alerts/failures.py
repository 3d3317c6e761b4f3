"""Failed notifications become alerts, one per (channel, error code), counted exactly once.

The check reads notification events past its cursor (see db.alert_cursors): every move to
``failed`` or ``undelivered``, whoever made it (a send, a provider callback, exhausted
retries). It also keeps per-run counts of sends per provider, which the provider check reads.
"""
import logging
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from actors.channels import channels_for
from db import (
    Alert,
    Notification,
    NotificationEvent,
    db,
    raise_condition,
    resolve_condition,
)
from db.alert_cursors import lock_cursor

log = logging.getLogger(__name__)

CURSOR = "notification-events"
#: Events younger than this may belong to a transaction that has not committed yet.
COMMIT_GRACE = timedelta(seconds=5)
#: A first run looks back this far rather than over all history.
FIRST_LOOKBACK = timedelta(minutes=15)
FAILED = ("failed", "undelivered")
FAILURE_KINDS = ("send-failed", "send-failed-technical")
# Failures that say the provider (or our link to it) is sick, not the recipient's data.
TECHNICAL_SOURCES = {"retries-exhausted"}
TECHNICAL_DETAILS = {"provider unavailable until the deadline", "retries exhausted"}


def _is_technical(source: str, detail: str | None) -> bool:
    return source in TECHNICAL_SOURCES or detail in TECHNICAL_DETAILS


def _start_position(now) -> int:
    return db.session.execute(select(func.max(NotificationEvent.id)).where(
        NotificationEvent.at < now - FIRST_LOOKBACK)).scalar() or 0


def scan_failures(now) -> dict | None:
    """Raise alerts for failures since the last run; return the rolling per-run send counts.

    The counts are {"runs": [[iso time, {"<channel>:<provider>": [ok, permanent,
    technical]}], ...]} covering the provider check's window, or None when another worker
    holds the cursor. Each outcome counts for the provider its attempt went through (the
    notification's ``provider``); one recorded before providers were (NULL) for the
    channel's first.
    """
    cursor = lock_cursor(CURSOR, start_at=_start_position(now))
    if cursor is None:
        return None
    upto = db.session.execute(select(func.max(NotificationEvent.id)).where(
        NotificationEvent.id > cursor.position, NotificationEvent.at <= now - COMMIT_GRACE)
    ).scalar()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    if upto is not None:
        rows = db.session.execute(
            select(NotificationEvent.notification_id, NotificationEvent.to_status,
                   NotificationEvent.error_code, NotificationEvent.source,
                   NotificationEvent.detail, Notification.channel, Notification.provider)
            .join(Notification, Notification.id == NotificationEvent.notification_id)
            .where(NotificationEvent.id > cursor.position, NotificationEvent.id <= upto,
                   NotificationEvent.to_status.in_(("sent",) + FAILED))
            .order_by(NotificationEvent.id)).all()
        groups: dict[tuple, list] = defaultdict(list)
        first = {channel: adapter.provider
                 for channel, adapter in channels_for(current_app).items()}
        for row in rows:
            by_provider = counts[f"{row.channel}:{row.provider or first[row.channel]}"]
            if row.to_status == "sent":
                by_provider[0] += 1
                continue
            technical = _is_technical(row.source, row.detail)
            by_provider[2 if technical else 1] += 1
            groups[(row.channel, row.error_code or "none", technical, row.to_status)].append(row)
        for (channel, code, technical, status), failed in groups.items():
            _raise(channel, code, technical, status, failed)
        cursor.position = upto
    window = timedelta(minutes=current_app.config["PROVIDER_FAILURE_WINDOW_MINUTES"])
    runs = [run for run in (cursor.state or {}).get("runs", [])
            if run[0] >= (now - window).isoformat()]
    runs.append([now.isoformat(), dict(counts)])
    cursor.state = {"runs": runs}
    return cursor.state


def _raise(channel: str, code: str, technical: bool, status: str, failed: list) -> None:
    kind = "send-failed-technical" if technical else "send-failed"
    detail = next((row.detail for row in reversed(failed) if row.detail), None)
    how = "could not be sent (provider unavailable)" if technical else f"were {status}"
    summary = f"{channel.upper()} notifications {how}: error {code}"
    if detail:
        summary += f" ({detail})"
    raise_condition(f"{kind}:{channel}:{code}", kind, summary[:500],
                    sample_ids=[row.notification_id for row in failed[:10]], count=len(failed))
    log.warning("notifications failed", extra={"alert_key": f"{kind}:{channel}:{code}",
                                               "failed_count": len(failed)})


def resolve_quiet_failures(now) -> None:
    """A failure alert with no new failure for ALERT_QUIET_MINUTES is over."""
    quiet = timedelta(minutes=current_app.config["ALERT_QUIET_MINUTES"])
    keys = db.session.execute(select(Alert.key).where(
        Alert.status == "open", Alert.kind.in_(FAILURE_KINDS),
        Alert.last_seen_at < now - quiet)).scalars().all()
    for key in keys:
        resolve_condition(key)
