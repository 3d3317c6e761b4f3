"""Reminder status where staff look: lists show the latest notification per channel in words;
the appointment page shows what is coming; accounts are tied to clinics from the CLI; the
delivery page draws the target and links a day below it to that day's call list."""
import re
from datetime import timedelta

from sqlalchemy import select

from db import Appointment, ClinicDay, DeliveryDay, StaffUser, db, utcnow
from tests.factories import appointment
from tests.web.admin.conftest import FAST_HASH, PASSWORD, login
from tests.web.admin.seeding import RECEPTIONIST, _load, location, seed_day
from web.admin.cli import seed_demo_account


def _seeded(make_app):
    app = make_app(CLINIC_TIMEZONE="America/Los_Angeles", **FAST_HASH)
    with app.app_context():
        day = seed_day("America/Los_Angeles")
        seed_demo_account(RECEPTIONIST, PASSWORD, role="staff", locations=["L-1"])
        ids = {"ada": day.ada.id, "grace": day.grace.id, "main": day.ada.location_id}
    return app, ids


def test_lists_and_the_appointment_page_speak_in_words(make_app):
    app, ids = _seeded(make_app)
    client = app.test_client()
    login(client, RECEPTIONIST)
    listing = client.get("/admin/appointment/?search=A-1002").get_data(as_text=True)
    assert "Failed (reminder by SMS): number not in service – call the patient" in listing
    assert re.search(r"\d{1,2}:\d\d [AP]M P[SD]T \(in \d+ days\)", listing)  # when, and how far

    page = client.get(f"/admin/appointment/timeline/{ids['ada']}").get_data(as_text=True)
    coming = re.search(r'<ul id="coming">(.*?)</ul>', page, re.DOTALL).group(1)
    assert "Change notice due" in coming and "by SMS" in coming  # queued, about to go
    changes = re.search(r'<table class="table table-sm" id="changes">(.*?)</table>', page,
                        re.DOTALL).group(1)
    assert "Old Town Clinic (L-3)" in changes and "&rarr; Main St Clinic (L-1)" in changes
    assert re.search("P[SD]T", changes) and "the booking system" in changes


def test_an_appointment_without_its_reminder_yet_says_when_it_is_due(make_app):
    app, _ = _seeded(make_app)
    with app.app_context():
        _load(appointment(id="A-1003", location={"id": "L-1", "name": "Main St Clinic",
                                                 "address": "1 Main St",
                                                 "timezone": "America/Los_Angeles"},
                          patient={"id": "P-3", "phone": "+13125550163"}))
        later = db.session.scalars(select(Appointment).where(
            Appointment.external_id == "A-1003")).one().id
    client = app.test_client()
    login(client, RECEPTIONIST)
    page = client.get(f"/admin/appointment/timeline/{later}").get_data(as_text=True)
    coming = re.search(r'<ul id="coming">(.*?)</ul>', page, re.DOTALL).group(1)
    assert re.search(r"Reminder due \w{3} \d{1,2} \w{3} 9:00 AM–12:00 PM P[SD]T by SMS", coming)


def test_users_create_ties_an_account_to_its_clinics(make_app):
    app, _ = _seeded(make_app)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=[
            "users", "create", "new@clinic.example", "--role", "viewer", "--location", "L-1",
            "--location", "L-9", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        assert "created new@clinic.example (viewer; sees L-1, L-9)" in result.output
        assert "no clinic L-9 is known yet" in result.output
        user = db.session.scalars(select(StaffUser).where(
            StaffUser.email == "new@clinic.example")).one()
        assert user.location_external_ids == {"L-1", "L-9"}


def test_the_delivery_page_draws_the_target_and_links_a_bad_day_to_its_call_list(make_app):
    app, _ = _seeded(make_app)
    with app.app_context():
        main = location("L-1")
        day = (utcnow() - timedelta(days=3)).date()
        db.session.add_all([
            DeliveryDay(local_date=day, location_id=main.id, channel="sms", kind="reminder",
                        due=100, delivered=97, accepted=0, unconfirmed=0, failed=3,
                        undelivered=0, expired=0, never_planned=0, pending=0),
            ClinicDay(local_date=day, location_id=main.id, ledger_closed_at=utcnow())])
        db.session.commit()
    client = app.test_client()
    login(client, RECEPTIONIST)
    page = client.get("/admin/delivery/").get_data(as_text=True)
    assert 'class="target"' in page and "99.0% target" in page
    row = re.search(rf'data-day="{day.isoformat()}">(.*?)</tr>', page, re.DOTALL).group(1)
    assert f'href="/admin/calls/?day={day.isoformat()}&amp;clinic=L-1"' in row
    assert "97.0%" in row and "below target" in row
    assert "Harbour Clinic" not in page  # another clinic's rates are not this account's
    assert client.get("/admin/delivery/?days=365").status_code == 200
