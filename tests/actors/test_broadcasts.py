"""Broadcasts: one clinic and day, each booked patient once per chosen channel, through the
send actors to the fake Twilio and SMTP sink; a doubled confirm and a lost enqueue add nothing."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.broadcasts import confirm, draft, preview, progress
from actors.reminders.sweep import sweep
from actors.segments import segment_count
from db import Appointment, Location, Notification, Patient, db, utcnow
from tests.conftest import drain

NY, LA = "America/New_York", "America/Los_Angeles"


def _location(external_id, zone):
    location = Location(external_id=external_id, name=f"Clinic {external_id}",
                        address=f"{external_id} Main St", phone="+13125550123", timezone=zone)
    db.session.add(location)
    return location


def _book(location, day: date, number: int, *, email=True, status="booked"):
    patient = Patient(external_id=f"P-{number}", given_name=f"Pat{number}", family_name="Doe",
                      phone=f"+1312555{number:04d}",
                      email=f"pat{number}@example.org" if email else None,
                      preferred_channel="sms", language="en")
    starts = datetime.combine(day, time(10, number % 50), ZoneInfo(location.timezone))
    db.session.add(Appointment(external_id=f"A-{number}", patient=patient, location=location,
                               status=status, starts_at=starts, local_date=day,
                               source_updated_at=utcnow(), revision=1))
    return patient


@pytest.fixture
def clinics(app):
    """L-1 on day D: two booked (one without e-mail), one cancelled; L-1 the day after; L-2."""
    day = utcnow().astimezone(ZoneInfo(NY)).date() + timedelta(days=1)
    one, two = _location("L-1", NY), _location("L-2", LA)
    booked = [_book(one, day, 1), _book(one, day, 2, email=False)]
    others = [_book(one, day, 3, status="cancelled"), _book(one, day + timedelta(days=1), 4),
              _book(two, day, 5)]
    db.session.commit()
    return one, day, booked, others


def _draft(location, day, **kwargs):
    options = {"template": "closure", "text": None, "channels": ["sms", "email"],
               "account": "staff@clinic.example", **kwargs}
    broadcast = draft(location, day, **options)
    db.session.commit()
    return broadcast


def test_the_preview_counts_recipients_per_channel_and_renders_the_sms(clinics):
    location, day, _, _ = clinics
    shown = preview(_draft(location, day))
    assert shown.recipients == {"sms": (2, 2), "email": (2, 1)}
    assert "Clinic L-1 is closed" in shown.sms and "Pat1" in shown.sms
    assert shown.segments == segment_count(shown.sms) and shown.max_segments >= shown.segments


def test_own_text_is_checked_and_shown(clinics):
    location, day, _, _ = clinics
    shown = preview(_draft(location, day, template=None, text="Closed today: burst pipe.",
                           channels=["sms"]))
    assert shown.sms == "Clinic L-1: Closed today: burst pipe. Reply STOP to opt out."
    assert list(shown.recipients) == ["sms"]
    for bad in ({"text": "x" * 301}, {"text": "two\nlines"}, {"template": "closure", "text": "a"},
                {"channels": []}):
        with pytest.raises(ValueError):
            draft(location, day, **{"template": None, "text": None, "channels": ["sms"],
                                    "account": "a", **bad})
    db.session.rollback()


def test_each_booked_patient_hears_once_per_channel_and_a_second_confirm_adds_nothing(
        app, clinics, fake_providers):
    twilio, smtp = fake_providers
    location, day, booked, others = clinics
    broadcast = _draft(location, day)
    created = confirm(broadcast, account="staff@clinic.example", now=utcnow())
    db.session.commit()
    assert len(created) == 4  # two appointments x two channels
    assert confirm(broadcast, account="other@clinic.example", now=utcnow()) == []
    db.session.commit()
    assert broadcast.confirmed_by == "staff@clinic.example"
    drain(app)
    for patient in booked:
        assert len(twilio.sent_to(patient.phone)) == 1
    assert len(smtp.sent_to(booked[0].email)) == 1 and len(smtp.messages) == 1
    for patient in others:
        assert twilio.sent_to(patient.phone) == []
    db.session.rollback()
    rows = db.session.scalars(select(Notification).where(Notification.kind == "broadcast")).all()
    assert {row.queue for row in rows} == {"priority"}
    assert {row.dedupe_key for row in rows} == {
        f"broadcast:{broadcast.id}:{row.appointment_id}:{row.channel}" for row in rows}
    assert progress(broadcast) == {("sms", "sent"): 2, ("email", "sent"): 1,
                                   ("email", "suppressed"): 1}


def test_a_crash_between_creation_and_enqueue_is_healed_by_the_sweep(
        app, clinics, fake_providers, monkeypatch):
    """The rows commit, the process dies before a message reaches the broker: the confirm
    pressed again adds nothing, and the sweep hands each stuck row over once."""
    twilio, _ = fake_providers
    location, day, booked, _ = clinics
    broadcast = _draft(location, day, channels=["sms"])
    broker = app.extensions["dramatiq"]
    # Killed after the commit, before any message left: as if the enqueues never ran.
    monkeypatch.setattr("actors.broadcasts.enqueue_send", lambda notification: None)
    now = utcnow()
    confirm(broadcast, account="staff@clinic.example", now=now)
    db.session.commit()
    monkeypatch.undo()
    assert db.session.scalar(select(Notification.id).where(Notification.kind == "broadcast"))
    assert confirm(broadcast, account="staff@clinic.example", now=utcnow()) == []
    db.session.commit()
    assert broker.queues.get("priority") is None or broker.queues["priority"].qsize() == 0
    later = now + timedelta(seconds=app.config["SWEEP_PRIORITY_STUCK_AFTER_SECONDS"] + 1)
    assert sweep(later)["requeued"] == 2
    drain(app)
    for patient in booked:
        assert len(twilio.sent_to(patient.phone)) == 1
    assert twilio.duplicates() == 0


def test_the_preview_is_written_in_the_language_the_clinic_offers(clinics):
    from actors.clinic_settings import forget_clinic_settings
    from db.clinic_settings import ClinicSettings
    location, day, _, _ = clinics
    db.session.add(ClinicSettings(location_id=location.id, languages="es"))
    db.session.commit()
    forget_clinic_settings()
    shown = preview(_draft(location, day, channels=["sms"]))
    assert "está cerrado" in shown.sms and "Pat1" in shown.sms
