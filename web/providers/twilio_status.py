"""POST /api/v1/twilio/status: Twilio's delivery receipts (the StatusCallback of each SMS)."""
import logging

from flask import Blueprint, request
from sqlalchemy import select

from actors.channels.twilio_sms import CONSENT_CODES, PERMANENT_CODES
from actors.constraints import column_length
from actors.delivery import enqueue_send
from actors.reminders.fallback import email_fallback
from db import Notification, db, transition
from web.providers.twilio_auth import require_twilio_signature

log = logging.getLogger(__name__)
blp = Blueprint("twilio_status", __name__, url_prefix="/api/v1/twilio")

#: Twilio's final statuses; "queued", "sending", "sent", "accepted"... change nothing,
#: since our own "sent" is recorded when Twilio accepts the message.
FINAL = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}


def permanent(error_code: str | None) -> bool:
    """Whether a receipt's error code says this number will never take the message."""
    return bool(error_code) and error_code.isdigit() and (
        int(error_code) in PERMANENT_CODES or int(error_code) in CONSENT_CODES)


def _fits(value: str, column) -> bool:
    """Comparable with the column: PostgreSQL refuses NUL in a query, a long value no row has."""
    return len(value) <= column_length(column) and value.isprintable()


@blp.before_request
def _authenticate():
    require_twilio_signature()


@blp.route("/status", methods=["POST"])
def status():
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    reported = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    target = FINAL.get(reported)
    if not sid or target is None or not _fits(sid, Notification.provider_message_id):
        return "", 204
    notification = db.session.execute(
        select(Notification).where(Notification.provider_message_id == sid,
                                   Notification.channel == "sms").with_for_update()
    ).scalar_one_or_none()
    if notification is None:
        # Twilio can call before the send actor has stored the SID; the next callback
        # (or the final one) finds it.
        log.info("status callback for an unknown message", extra={"twilio_status": reported})
        db.session.rollback()
        return "", 204
    error_code = request.form.get("ErrorCode") or None
    if error_code is not None and not _fits(error_code, Notification.error_code):
        error_code = "unreadable"  # the failure stands; its code would not fit the column
    moved = transition(notification, target, source="twilio-callback", error_code=error_code,
                       reason=f"Twilio reported {reported}" + (f" ({error_code})"
                                                                if error_code else ""))
    fallback = None
    if moved and target != "delivered" and permanent(error_code):
        # Applied once: a repeated callback is refused by transition() above.
        fallback = email_fallback(notification)
        if fallback is not None:
            enqueue_send(fallback)
    db.session.commit()
    log.info("status callback", extra={"notification_id": notification.id,
                                       "twilio_status": reported, "applied": moved,
                                       "error_code": error_code,
                                       "fallback_id": fallback.id if fallback else None})
    return "", 204
