"""Alert e-mails to on-call: one when an alert opens, throttled digests, one when it resolves.

The minute tick enqueues ``send_alert_email`` on the priority queue for each alert that is
due an e-mail, so a reminder backlog never delays it. If the e-mail channel itself is
down, the alert is logged at error level (which Sentry captures) and the message retries.
"""
import html
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from actors.alerts.runbook import advice_for
from actors.broker import actor
from actors.channels import ChannelError
from actors.channels.failover import adapter_for
from actors.enqueue import enqueue_after_commit
from db import Alert, db, utcnow

log = logging.getLogger(__name__)

#: A queued e-mail that has not gone out by then (lost message) may be enqueued again.
REQUEUE_AFTER = timedelta(minutes=30)
SUBJECT_PREFIX = "[patient-notifier]"


def due(alert: Alert, now, throttle: timedelta) -> str | None:
    """Which e-mail ``alert`` is due now: "opened", "digest", "resolved" or None."""
    if alert.status == "open":
        if alert.notified_count == 0:
            return "opened"
        if alert.count > alert.notified_count and (
                alert.last_notified_at is None or now - alert.last_notified_at >= throttle):
            return "digest"
        return None
    if alert.status == "resolved" and alert.resolved_at is not None and (
            alert.last_notified_at is None or alert.last_notified_at < alert.resolved_at):
        return "resolved"
    return None


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def compose(alert: Alert, what: str) -> tuple[str, str]:
    """Subject and text of the e-mail: counts, times, sample ids and advice; no patient data."""
    new = alert.count - alert.notified_count
    headline = {"opened": "ALERT", "digest": f"STILL OPEN ({alert.count} so far)",
                "resolved": "RESOLVED"}[what]
    lines = [
        f"{headline}: {alert.summary}", "",
        f"Alert key:   {alert.key}",
        f"Kind:        {alert.kind}",
        f"Occurrences: {alert.count}"
        + (f" ({new} since the last e-mail at {_when(alert.last_notified_at)})"
           if what == "digest" else ""),
        f"First seen:  {_when(alert.first_seen_at)}",
        f"Last seen:   {_when(alert.last_seen_at)}",
    ]
    if what == "resolved":
        lines.append(f"Resolved:    {_when(alert.resolved_at)}")
    samples = ", ".join(str(s) for s in alert.sample_ids or []) or "none"
    lines += [f"Sample ids:  {samples}", "", "What to do:", advice_for(alert.kind), ""]
    if what == "digest":
        minutes = current_app.config["ALERT_THROTTLE_MINUTES"]
        lines.append(f"Repeats are counted and e-mailed at most every {minutes} minutes.")
    return f"{SUBJECT_PREFIX} {headline}: {alert.summary}"[:250], "\n".join(lines) + "\n"


def _recipients() -> list[str]:
    raw = current_app.config["ALERT_EMAIL_TO"] or ""
    return [address.strip() for address in raw.split(",") if address.strip()]


@actor(queue_name="priority", max_retries=20, min_backoff=5_000, max_backoff=300_000)
def send_alert_email(alert_id: int) -> None:
    """E-mail on-call about one alert, if it is (still) due an e-mail."""
    alert = db.session.execute(select(Alert).where(Alert.id == alert_id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if alert is None:
        return
    now = utcnow()
    throttle = timedelta(minutes=current_app.config["ALERT_THROTTLE_MINUTES"])
    what = due(alert, now, throttle)
    if what is not None:
        subject, text = compose(alert, what)
        log_extra = {"alert_key": alert.key, "alert_kind": alert.kind, "alert_count": alert.count,
                     "alert_email": what}
        recipients = _recipients()
        if not recipients:
            log.error(f"alert without ALERT_EMAIL_TO: {subject}", extra=log_extra)
        try:
            adapter = adapter_for("email", probe=False)  # SMTP while SES is failing
            for address in recipients:
                adapter.send_email(address, subject, text, f"<pre>{html.escape(text)}</pre>")
        except ChannelError as error:
            db.session.rollback()
            # Error level: the JSON logs and Sentry (logging integration) both get it; the
            # raise makes Dramatiq retry with backoff.
            log.error(f"alert e-mail could not be sent, will retry: {subject}",
                      extra={**log_extra, "error_code": error.code})
            raise
        log.info("alert e-mail sent", extra=log_extra)
        alert.notified_count, alert.last_notified_at = alert.count, now
    alert.email_queued_at = None
    db.session.commit()


def enqueue_due_emails(now) -> int:
    """Enqueue an e-mail for every alert due one (after commit); returns how many."""
    throttle = timedelta(minutes=current_app.config["ALERT_THROTTLE_MINUTES"])
    candidates = db.session.execute(
        select(Alert).where(
            or_(Alert.email_queued_at.is_(None), Alert.email_queued_at < now - REQUEUE_AFTER),
            or_(Alert.status == "open",
                Alert.last_notified_at.is_(None) & Alert.resolved_at.is_not(None),
                Alert.last_notified_at < Alert.resolved_at))
        .with_for_update(skip_locked=True)).scalars().all()
    queued = 0
    for alert in candidates:
        if due(alert, now, throttle) is None:
            continue
        alert.email_queued_at = now
        enqueue_after_commit(db.session, send_alert_email, alert.id)
        queued += 1
    db.session.commit()
    return queued
