"""What the reply tests share: the fake appointment system, a reminder that went out, a
patient's signed reply, and reading back what was stored."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.appointments import apply_appointment_update
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.schemas import AppointmentSchema
from db import Notification, OutboundWebhook, PatientResponse, db, utcnow
from fakes.appointment_system import FakeAppointmentSystem
from tests.actors.reminders.support import midday_zone
from tests.conftest import TWILIO_SID, drain
from tests.factories import appointment
from tests.web.test_providers_twilio import twilio_post

OUTBOUND_SECRET = "whsec_b3V0Ym91bmQtdGVzdC1zZWNyZXQtZm9yLXJlcGxpZXM="
PHONE = "+13125550100"
OUR_NUMBER = "+13125550199"


@pytest.fixture(scope="session")
def appointment_system_server():
    server = FakeAppointmentSystem(OUTBOUND_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def appointment_system(appointment_system_server):
    appointment_system_server.reset()
    return appointment_system_server


def reply_config(appointment_system, **overrides) -> dict:
    """Settings whose reminder window is open now, with the appointment system to tell."""
    return {"REMINDER_WINDOW": "10:00-14:00",
            "APPOINTMENT_SYSTEM_WEBHOOK_URL": appointment_system.url,
            "APPOINTMENT_SYSTEM_WEBHOOK_SECRET": OUTBOUND_SECRET, **overrides}


@pytest.fixture
def app(make_app, appointment_system):
    app = make_app(**reply_config(appointment_system))
    with app.app_context():
        yield app


def book(*, id="A-1001", at=time(15, 30), days_ahead=3, location=None, patient=None,
         **fields) -> dict:
    """An appointment a few local days ahead (in a zone where it is about noon now)."""
    zone = midday_zone(utcnow())
    day = utcnow().astimezone(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    starts = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    data = appointment(id=id, starts_at=starts, updated_at=utcnow() - timedelta(hours=1),
                       location={"timezone": zone, **(location or {})},
                       patient={**(patient or {}), **fields})
    apply_appointment_update(AppointmentSchema().load(data), source="test")
    db.session.commit()
    return data


def remind(app) -> int:
    """Plan and send today's reminders (days_ahead=3 is the reminder day)."""
    now = utcnow()
    plan(now)
    db.session.commit()
    count = dispatch(now + timedelta(hours=4))
    drain(app)
    return count


def reply(client, body, *, sender=PHONE, sid="SMreply1"):
    params = {"MessageSid": sid, "From": sender, "To": OUR_NUMBER, "Body": body,
              "AccountSid": TWILIO_SID}
    return twilio_post(client, "/api/v1/twilio/inbound", params)


def responses() -> list[PatientResponse]:
    db.session.expire_all()
    return db.session.scalars(select(PatientResponse).order_by(PatientResponse.id)).all()


def outbox() -> list[OutboundWebhook]:
    db.session.expire_all()
    return db.session.scalars(select(OutboundWebhook).order_by(OutboundWebhook.id)).all()


def notifications(**where) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return db.session.scalars(query).all()
