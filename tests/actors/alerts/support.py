"""Shared by the alert and dead-letter tests: seeding notifications, reading alert e-mails."""
import json
from datetime import timedelta

from sentry_sdk.transport import Transport
from sqlalchemy import insert, select

from actors.alerts.checks import run_checks
from actors.alerts.failures import COMMIT_GRACE
from db import Appointment, Notification, db, utcnow
from tests.conftest import drain
from tests.factories import appointment, moved, post_event

ONCALL = "oncall@clinic.example"


def booked(client) -> Appointment:
    """A booked appointment, changed once, whose change notice (one SMS) is queued."""
    first = appointment()
    post_event(client, "appointment.created", first)
    post_event(client, "appointment.updated", moved(first, hours=1))
    return db.session.execute(select(Appointment)).scalar_one()


def add_notifications(appt: Appointment, count: int, *, status="queued", channel="sms",
                      **values) -> list[int]:
    """Bulk rows like the change notice (same revision), in one INSERT."""
    rows = [{"appointment_id": appt.id, "patient_id": appt.patient_id, "kind": "change",
             "channel": channel, "dedupe_key": f"test:{appt.id}:{status}:{channel}:{i}:"
             f"{utcnow().timestamp()}", "revision": appt.revision, "status": status,
             "due_at": utcnow(), **values} for i in range(count)]
    ids = db.session.execute(insert(Notification).returning(Notification.id), rows).scalars().all()
    db.session.commit()
    return list(ids)


def evaluate(app, *, later=COMMIT_GRACE + timedelta(seconds=1)):
    """One run of the minute alert tick (as seen a few seconds later, past the commit grace),
    then every alert e-mail it enqueued, sent."""
    run_checks(utcnow() + later)
    drain(app)


def alert_mails(smtp, address=ONCALL) -> list:
    return smtp.sent_to(address)


class MemoryTransport(Transport):
    """Sentry's transport, kept in memory: every event the SDK would have sent."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def payloads(self) -> list[str]:
        return [json.dumps(item.payload.json, default=str) for envelope in self.envelopes
                for item in envelope.items if item.payload.json is not None]
