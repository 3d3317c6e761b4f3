"""Patients' answers (docs/architecture.md, "Replies and self-service").

An SMS reply belongs to the upcoming booked appointment its number was most recently
notified about within ``REPLY_WINDOW_DAYS``; a number shared by a family resolves to the
appointment it heard about last. An answer is stored once (``dedupe_key``), and in the same
transaction its outbox event for the appointment system is written; both go to the broker
only after the caller commits. Anything we cannot match, or cannot read, goes to the
clinic's staff inbox. Our acknowledgement is an ordinary notification (kind ``reply``),
created by db.creation and sent by the send actors like any other.
"""
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from actors.delivery import enqueue_send
from actors.outbound_webhook import enqueue_delivery, give_up_time
from db import (
    Appointment,
    Kind,
    Notification,
    OutboundWebhook,
    Patient,
    PatientResponse,
    Status,
    create_notifications,
    db,
)
from db.responses import EVENT_TYPES
from db.upsert import insert_ignoring_conflict

log = logging.getLogger(__name__)

#: An acknowledgement later than this would confuse more than it helps.
ACK_DEADLINE = timedelta(hours=1)


@dataclass
class Answer:
    """What recording an answer did, in ids only (safe to log)."""

    response: PatientResponse | None  # None: this answer was recorded before (a retry)
    ack: Notification | None = None

    @property
    def matched(self) -> bool:
        return self.response is not None and not self.response.needs_staff


def last_notified(phone: str, now: datetime) -> Notification | None:
    """The SMS this number was most recently sent about an upcoming booked appointment.

    One still ``sending`` counts too: the patient can have the message, and answer it,
    before the provider's answer to our send is committed (as a receipt can come first).
    """
    since = now - timedelta(days=current_app.config["REPLY_WINDOW_DAYS"])
    went = func.coalesce(Notification.sent_at, Notification.updated_at)
    # Through the number's patients' appointments: notifications have no index by patient
    # (db.notifications); one sent to the patient about an appointment since moved to
    # someone else is not theirs to answer.
    return db.session.execute(
        select(Notification).join(Appointment, Notification.appointment_id == Appointment.id)
        .join(Patient, and_(Patient.id == Appointment.patient_id,
                            Patient.id == Notification.patient_id))
        .where(Patient.phone == phone, Notification.channel == "sms",
               Notification.kind != Kind.REPLY,
               or_(Notification.sent_at >= since,
                   and_(Notification.status == Status.SENDING,
                        Notification.updated_at >= since)),
               Appointment.status == "booked", Appointment.starts_at > now)
        .order_by(went.desc(), Notification.id.desc()).limit(1)
    ).scalars().first()


def _latest_appointment(patients: list[Patient]) -> Appointment | None:
    """Whose clinic an unmatched reply is for: the number's latest notice, else its latest
    appointment (a reply long after the reminder still belongs to that clinic)."""
    ids = [patient.id for patient in patients]
    if not ids:
        return None
    notified = db.session.execute(
        select(Notification).join(Appointment, Notification.appointment_id == Appointment.id)
        .where(Appointment.patient_id.in_(ids),
               Notification.patient_id == Appointment.patient_id,
               Notification.kind != Kind.REPLY, Notification.sent_at.is_not(None))
        .order_by(Notification.sent_at.desc(), Notification.id.desc()).limit(1)
    ).scalars().first()
    if notified is not None:
        return notified.appointment
    return db.session.execute(select(Appointment).where(Appointment.patient_id.in_(ids))
                              .order_by(Appointment.starts_at.desc()).limit(1)).scalars().first()


def _store(values: dict) -> PatientResponse | None:
    if not insert_ignoring_conflict(PatientResponse, values, "dedupe_key"):
        return None
    return db.session.execute(select(PatientResponse)
                              .where(PatientResponse.dedupe_key == values["dedupe_key"])
                              ).scalar_one()


def _queue_event(response: PatientResponse, appointment: Appointment) -> OutboundWebhook:
    body = {"type": EVENT_TYPES[response.kind], "appointment_id": appointment.external_id,
            "patient_id": appointment.patient.external_id,
            "received_at": response.received_at.astimezone(UTC).isoformat()
            .replace("+00:00", "Z"),
            "channel": response.channel}
    event = OutboundWebhook(response_id=response.id, webhook_id=f"msg_{uuid.uuid4().hex}",
                            event_type=body["type"], body=json.dumps(body, sort_keys=True),
                            status="pending", attempts=0, created_at=response.received_at,
                            next_attempt_at=response.received_at,
                            give_up_at=give_up_time(response.received_at))
    db.session.add(event)
    db.session.flush()
    enqueue_delivery(event.id)
    return event


def _acknowledge(response: PatientResponse, appointment: Appointment, now) -> Notification | None:
    created = create_notifications([{
        "appointment_id": appointment.id, "patient_id": response.patient_id or
        appointment.patient_id, "kind": Kind.REPLY, "channel": "sms",
        "dedupe_key": f"reply:{response.id}", "revision": appointment.revision,
        "status": Status.QUEUED, "queued_at": now, "due_at": now,
        "deadline_at": now + ACK_DEADLINE}], source="patient-reply", now=now,
        detail=f"answer to response {response.id}")
    if not created:
        return None
    ack = db.session.get(Notification, created[0].id)
    response.ack_notification_id = ack.id
    enqueue_send(ack)
    return ack


def record_sms_reply(*, message_sid: str, phone: str | None, patients: list[Patient],
                     kind: str, text: str, now: datetime) -> Answer:
    """Store a reply (``kind`` confirm, cancel or unclear) from ``phone``; the caller commits.

    Matched confirm/cancel: a response, its outbox event and an acknowledgement. Anything
    else: an inbox entry for the clinic and an acknowledgement asking the patient to call.
    """
    replied_to = last_notified(phone, now) if phone and kind != "unclear" else None
    appointment = replied_to.appointment if replied_to else _latest_appointment(patients)
    patient_id = replied_to.patient_id if replied_to else (
        appointment.patient_id if appointment else (patients[0].id if patients else None))
    response = _store({
        "dedupe_key": f"sms:{message_sid}", "kind": kind, "channel": "sms",
        "appointment_id": appointment.id if replied_to else None, "patient_id": patient_id,
        "location_id": appointment.location_id if appointment else None,
        "notification_id": replied_to.id if replied_to else None, "raw_text": text,
        "received_at": now, "needs_staff": replied_to is None})
    if response is None:
        return Answer(None)
    if replied_to is not None:
        _queue_event(response, appointment)
    ack = _acknowledge(response, appointment, now) if appointment is not None else None
    log.info("SMS reply recorded", extra={"response_id": response.id, "kind": kind,
                                          "matched": replied_to is not None,
                                          "appointment_id": response.appointment_id,
                                          "ack_notification_id": ack.id if ack else None})
    return Answer(response, ack)


def record_email_answer(notification: Notification, kind: str, now: datetime
                        ) -> PatientResponse | None:
    """A Confirm or Cancel link's POST; None when this link was used already."""
    appointment = notification.appointment
    response = _store({
        "dedupe_key": f"email:{notification.id}:{kind}", "kind": kind, "channel": "email",
        "appointment_id": appointment.id, "patient_id": notification.patient_id,
        "location_id": appointment.location_id, "notification_id": notification.id,
        "raw_text": None, "received_at": now, "needs_staff": False})
    if response is not None:
        _queue_event(response, appointment)
        log.info("e-mail answer recorded", extra={"response_id": response.id, "kind": kind,
                                                  "appointment_id": appointment.id})
    return response


def answer_of(notification) -> str:
    """What an acknowledgement says: ``confirm``, ``cancel`` or ``unclear`` (call us)."""
    response = db.session.execute(select(PatientResponse).where(
        PatientResponse.ack_notification_id == notification.id)).scalar_one_or_none()
    if response is None or response.needs_staff:
        return "unclear"
    return response.kind
