"""Clinic settings in the admin: admins set a clinic's own window, days, quiet hours and help
contact (audited, checked, blank is global); the Today page shows each clinic's own window."""
from sqlalchemy import select

from actors.clinic_settings import rules_for
from actors.rendering import context_for
from db import AuditEntry, db
from db.clinic_settings import ClinicSettings
from tests.web.admin.conftest import csrf_token, login


def _save(client, location_id, **fields):
    data = {"csrf_token": csrf_token(client, "/admin/clinic-settings/"), **fields}
    return client.post(f"/admin/clinic-settings/{location_id}", data=data)


def test_an_admin_sets_a_clinics_own_settings_and_it_is_audited(client, accounts, clinic):
    login(client, accounts["admin"])
    response = _save(client, clinic.location.id, reminder_window="7:00-10:00",
                     reminder_days_before="2", quiet_hours="21:00-08:00",
                     help_contact="+13125550999")
    assert response.status_code == 302
    db.session.expire_all()
    rules = rules_for(clinic.location.id)
    assert (rules.reminder_window, rules.reminder_days_before, rules.quiet_hours) == (
        "07:00-10:00", 2, "21:00-08:00")
    appointment = clinic.appointment
    assert context_for(appointment, appointment.patient, appointment.location)[
        "clinic_phone"] == "+13125550999"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "clinic settings"))
    assert entry.object_id == "L-1" and "reminder_window: global -> 07:00-10:00" in entry.detail
    page = client.get("/admin/").get_data(as_text=True)
    assert "7:00\u202fAM–10:00\u202fAM" in page or "7:00 AM–10:00 AM" in page

    assert _save(client, clinic.location.id, reminder_window="").status_code == 302
    db.session.expire_all()
    assert rules_for(clinic.location.id).reminder_window == "09:00-12:00"  # global again


def test_bad_values_are_refused_and_nothing_changes(client, accounts, clinic):
    login(client, accounts["admin"])
    for bad in ({"reminder_window": "10:00-09:00"}, {"reminder_days_before": "0"},
                {"quiet_hours": "25:00-07:00"}, {"help_contact": "x" * 65}):
        assert _save(client, clinic.location.id, **bad).status_code == 302
        assert db.session.get(ClinicSettings, clinic.location.id) is None, bad


def test_staff_may_not_change_clinic_settings(client, accounts, clinic):
    login(client, accounts["staff"])
    assert client.get("/admin/clinic-settings/").status_code == 403
    token = csrf_token(client, "/admin/")
    assert client.post(f"/admin/clinic-settings/{clinic.location.id}", data={
        "csrf_token": token, "reminder_window": "07:00-10:00"}).status_code == 403
    assert db.session.get(ClinicSettings, clinic.location.id) is None


def test_an_admin_sets_the_clinics_languages_checked_and_audited(client, accounts, clinic):
    login(client, accounts["admin"])
    assert _save(client, clinic.location.id, languages="xx,en").status_code == 302
    assert db.session.get(ClinicSettings, clinic.location.id) is None  # unknown code refused
    assert _save(client, clinic.location.id, languages="ES, en").status_code == 302
    db.session.expire_all()
    assert rules_for(clinic.location.id).languages == ("es", "en")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "clinic settings"))
    assert "languages: global -> es,en" in entry.detail
    page = client.get("/admin/clinic-settings/").get_data(as_text=True)
    assert 'name="languages"' in page and 'value="es,en"' in page
