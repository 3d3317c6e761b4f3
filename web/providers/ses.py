"""POST /api/v1/ses/notifications: SES bounce, complaint and delivery notices through SNS.

A hard bounce or a complaint makes the address undeliverable (the send actors then
suppress e-mail to it) and is kept in the consent history; a complaint also opts the
patient out of e-mail. A delivery notice moves the notification to ``delivered``.
"""
import json
import logging

import requests
from flask import Blueprint, abort, current_app, request
from sqlalchemy import func, select

from db import ConsentChange, Notification, Patient, db, record_consent, transition
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


def _certificates() -> CertificateCache:
    return current_app.extensions.setdefault(
        "sns_certificates", CertificateCache(current_app.config["PROVIDER_TIMEOUT_SECONDS"]))


def _verified_message() -> dict:
    request.max_content_length = MAX_BODY_BYTES
    try:
        message = json.loads(request.get_data())  # SNS posts JSON as text/plain
    except ValueError:
        abort(400, "Body is not JSON.")
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
            payload = json.loads(message["Message"])
        except (KeyError, ValueError):
            abort(400, "Notification Message is not JSON.")
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


def _apply(payload: dict) -> None:
    kind = payload.get("notificationType") or payload.get("eventType")
    mail_id = (payload.get("mail") or {}).get("messageId")
    notifications = list(db.session.execute(
        select(Notification).where(Notification.provider_message_id == mail_id,
                                   Notification.channel == "email").with_for_update()
    ).scalars()) if mail_id else []
    if kind == "Delivery":
        for notification in notifications:
            transition(notification, "delivered", source="ses-notification")
    elif kind == "Bounce" and (payload.get("bounce") or {}).get("bounceType") == "Permanent":
        bounce = payload["bounce"]
        code = f"bounce:{bounce.get('bounceSubType') or 'General'}"[:32]
        for notification in notifications:
            transition(notification, "undelivered", source="ses-notification", error_code=code,
                       reason="hard bounce")
        addresses = [r.get("emailAddress") for r in bounce.get("bouncedRecipients") or []]
        _undeliverable(notifications, addresses, source="email-bounce", reason=code)
    elif kind == "Complaint":
        complaint = payload.get("complaint") or {}
        addresses = [r.get("emailAddress") for r in complaint.get("complainedRecipients") or []]
        _undeliverable(notifications, addresses, source="email-complaint",
                       reason=f"complaint:{complaint.get('complaintFeedbackType') or 'abuse'}")
    else:
        log.info("SES notification ignored", extra={"ses_type": kind})
    db.session.commit()
    log.info("SES notification applied", extra={
        "ses_type": kind, "notification_ids": [n.id for n in notifications]})


def _undeliverable(notifications, addresses, *, source: str, reason: str) -> None:
    """Every patient with that address (or the notified one) stops getting e-mail."""
    lowered = [a.strip().lower() for a in addresses if a]
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
