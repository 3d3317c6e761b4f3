"""POST /api/v1/twilio/status: Twilio's delivery receipts (the StatusCallback of each SMS)."""
import logging
import re

from flask import Blueprint, request
from sqlalchemy import select

from actors.channels.twilio_sms import CONSENT_CODES, PERMANENT_CODES
from actors.constraints import column_length
from actors.delivery import enqueue_send
from actors.receipts import accepted
from actors.reminders.fallback import email_fallback
from db import Notification, db, transition
from web.providers.twilio_auth import require_twilio_signature

log = logging.getLogger(__name__)
blp = Blueprint("twilio_status", __name__, url_prefix="/api/v1/twilio")

#: Twilio's final statuses; the others ("queued", "sending", "sent", "accepted"...) only say
#: that Twilio has the message, which moves a row still ``sending`` to ``sent``.
FINAL = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}
ACCEPTED = {"accepted", "queued", "sending", "sent", "scheduled"}
_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only, within bigint


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


def _notification(sid: str) -> Notification | None:
    """The receipt's notification, locked: by the id in the signed URL (the receipt may come
    before the send's answer stored the SID), else by the SID (older URLs without it)."""
    by_id = request.args.get("notification", "")
    match = (Notification.id == int(by_id) if _ID.fullmatch(by_id)
             else Notification.provider_message_id == sid)
    return db.session.execute(
        select(Notification).where(match, Notification.channel == "sms").with_for_update()
    ).scalar_one_or_none()


@blp.route("/status", methods=["POST"])
def status():
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    reported = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    target = FINAL.get(reported)
    if not sid or (target is None and reported not in ACCEPTED) \
            or not _fits(sid, Notification.provider_message_id):
        return "", 204
    notification = _notification(sid)
    if notification is None:
        log.info("status callback for an unknown message", extra={"twilio_status": reported})
        db.session.rollback()
        return "", 204
    # Twilio has the message: a row still ``sending`` (its answer not committed yet, or
    # never coming) is sent, so its attempt is never made again (actors.receipts).
    accepted(notification, provider="twilio", message_id=sid, source="twilio-callback")
    if target is None:
        db.session.commit()
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
