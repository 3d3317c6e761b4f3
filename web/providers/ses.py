"""POST /api/v1/ses/notifications: SES bounce, complaint and delivery notices through SNS.

A hard bounce or a complaint makes the address undeliverable (the send actors then
suppress e-mail to it) and is kept in the consent history; a complaint also opts the
patient out of e-mail. A delivery notice moves the notification to ``delivered``.
"""
import logging
import re

import requests
from flask import Blueprint, abort, current_app, request
from sqlalchemy import func, select

from actors.constraints import NO_CONTROL, column_length
from actors.receipts import accepted
from db import ConsentChange, Notification, Patient, db, record_consent, transition
from web import json_body
from web.providers.sns import (
    CertificateCache,
    SnsVerificationError,
    host_patterns,
    url_allowed,
    verify,
)

log = logging.getLogger(__name__)
blp = Blueprint("ses_notifications", __name__, url_prefix="/api/v1/ses")
MAX_BODY_BYTES = 256 * 1024
_TEXT = re.compile(NO_CONTROL)


def _certificates() -> CertificateCache:
    return current_app.extensions.setdefault(
        "sns_certificates", CertificateCache(current_app.config["PROVIDER_TIMEOUT_SECONDS"]))


def _verified_message() -> dict:
    request.max_content_length = MAX_BODY_BYTES
    try:
        message = json_body.loads(request.get_data())  # SNS posts JSON as text/plain
    except json_body.JsonBodyError as error:
        abort(400, str(error))
    if not isinstance(message, dict):
        abort(400, "Body is not an SNS message.")
    patterns = host_patterns(current_app.config["SNS_CERT_HOSTS"])
    try:
        verify(message, patterns=patterns, certificates=_certificates())
    except SnsVerificationError as error:
        log.warning("SNS message refused", extra={"why": str(error)})
        abort(403, "Missing or wrong SNS signature.")
    topics = current_app.config["SNS_TOPIC_ARNS"]
    if topics and message.get("TopicArn") not in {t.strip() for t in topics.split(",")}:
        abort(403, "Topic not accepted.")
    return message


@blp.route("/notifications", methods=["POST"])
def notifications():
    message = _verified_message()
    if message["Type"] == "SubscriptionConfirmation":
        _confirm(message.get("SubscribeURL") or "")
    elif message["Type"] == "Notification":
        try:
            payload = json_body.loads(message.get("Message") or "")
        except json_body.JsonBodyError:
            abort(400, "Notification Message is not JSON.")
        if not isinstance(payload, dict):
            abort(400, "Notification Message is not an object.")
        _apply(payload)
    return "", 204


def _confirm(url: str) -> None:
    # SubscribeURL points at the same SNS endpoints as the signing certificates.
    if not url_allowed(url, host_patterns(current_app.config["SNS_CERT_HOSTS"])):
        abort(403, "SubscribeURL not allow-listed.")
    try:
        requests.get(url, timeout=current_app.config["PROVIDER_TIMEOUT_SECONDS"]
                     ).raise_for_status()
    except requests.RequestException as error:
        log.error("SNS subscription not confirmed", extra={"error_type": type(error).__name__})
        abort(502, "Could not confirm the subscription; SNS will retry.")
    log.info("SNS subscription confirmed")


def _object(value) -> dict:
    """SNS vouches for who sent a notice, not for its shape: a part of the wrong type is empty."""
    return value if isinstance(value, dict) else {}


def _text(value, limit: int) -> str | None:
    """A string fit to compare with a column (PostgreSQL refuses NUL), else None."""
    if isinstance(value, str) and len(value) <= limit and _TEXT.fullmatch(value):
        return value
    return None


def _tagged(payload: dict) -> int | None:
    """The notification id of the send's ``notification`` tag (``mail.tags``), if any."""
    values = _object(_object(payload.get("mail")).get("tags")).get("notification")
    value = values[0] if isinstance(values, list) and values else None
    return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value) else None


def _addresses(recipients) -> list[str]:
    limit = column_length(Patient.email)
    return [address for r in (recipients if isinstance(recipients, list) else [])
            if (address := _text(_object(r).get("emailAddress"), limit))]


def _apply(payload: dict) -> None:
    kind = _text(payload.get("notificationType") or payload.get("eventType"), 64)
    mail_id = _text(_object(payload.get("mail")).get("messageId"),
                    column_length(Notification.provider_message_id))
    notifications = list(db.session.execute(
        select(Notification).where(Notification.provider_message_id == mail_id,
                                   Notification.channel == "email").with_for_update()
    ).scalars()) if mail_id else []
    tagged = _tagged(payload)
    if not notifications and tagged is not None and mail_id:
        # A notice ahead of the send's commit: the tag names the notification (SNS vouches
        # for the notice), and SES having the message moves it to sent (actors.receipts).
        notifications = list(db.session.execute(
            select(Notification).where(Notification.id == tagged,
                                       Notification.channel == "email").with_for_update()
        ).scalars())
        for notification in notifications:
            accepted(notification, provider="ses", message_id=mail_id, source="ses-notification")
    if kind == "Delivery":
        for notification in notifications:
            transition(notification, "delivered", source="ses-notification")
    elif kind == "Bounce" and _object(payload.get("bounce")).get("bounceType") == "Permanent":
        bounce = payload["bounce"]
        code = f"bounce:{_text(bounce.get('bounceSubType'), 24) or 'General'}"
        for notification in notifications:
            transition(notification, "undelivered", source="ses-notification", error_code=code,
                       reason="hard bounce")
        addresses = _addresses(bounce.get("bouncedRecipients"))
        _undeliverable(notifications, addresses, source="email-bounce", reason=code)
    elif kind == "Complaint":
        complaint = _object(payload.get("complaint"))
        addresses = _addresses(complaint.get("complainedRecipients"))
        feedback = _text(complaint.get("complaintFeedbackType"), 64) or "abuse"
        _undeliverable(notifications, addresses, source="email-complaint",
                       reason=f"complaint:{feedback}")
    else:
        log.info("SES notification ignored", extra={"ses_type": kind})
    db.session.commit()
    log.info("SES notification applied", extra={
        "ses_type": kind, "notification_ids": [n.id for n in notifications]})


def _undeliverable(notifications, addresses, *, source: str, reason: str) -> None:
    """Every patient with that address (or the notified one) stops getting e-mail."""
    lowered = [a.strip().lower() for a in addresses]
    patients = {n.patient.id: n.patient for n in notifications}
    if lowered:
        for patient in db.session.execute(select(Patient).where(
                func.lower(Patient.email).in_(lowered)).with_for_update()).scalars():
            patients[patient.id] = patient
    for patient in patients.values():
        if source == "email-complaint" and not patient.email_opted_out:
            record_consent(patient, "email", opted_out=True, source=source, reason=reason)
        if not patient.email_undeliverable:
            patient.email_undeliverable = True
            if source == "email-bounce":
                # The address is closed, not the patient's consent: the row keeps the
                # "why" next to the other consent changes, the flag stays separate.
                db.session.add(ConsentChange(patient_id=patient.id, channel="email",
                                             opted_out=True, source=source, reason=reason))
        log.info("e-mail address marked undeliverable",
                 extra={"patient_id": patient.id, "source": source})
