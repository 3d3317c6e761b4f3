"""Staff see only their clinics: the location matrix. An account of clinic L-1 gets 403, 404
or nothing of clinic L-2 on every admin page, search, export, action and direct URL; admins
see both."""
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from db import AuditEntry, Notification, db
from tests.web.admin.conftest import FAST_HASH, PASSWORD, csrf_token, login
from tests.web.admin.seeding import MARY_PHONE, seed_day
from web.admin.cli import seed_demo_account

#: What of clinic L-2 an L-1 account must never see.
OTHER_CLINIC = ("Seacole", MARY_PHONE, MARY_PHONE[2:], "A-2001", "P-7", "Harbour Clinic",
                "A-2999")
ACCOUNTS = {"staff-a": ("staff", ("L-1",)), "viewer-a": ("viewer", ("L-1",)),
            "admin": ("admin", ())}


@pytest.fixture(scope="module")
def seeded(make_module_app):
    app = make_module_app(**FAST_HASH)
    with app.app_context():
        seeded = seed_day()
        for name, (role, locations) in ACCOUNTS.items():
            seed_demo_account(f"{name}@clinic.example", PASSWORD, role=role, locations=locations)
        day = SimpleNamespace(mary=seeded.mary.id, mary_patient=seeded.mary.patient_id,
                              other_failed=seeded.other_failed.id, grace=seeded.grace.id,
                              main=seeded.ada.location_id,
                              other_quarantined=seeded.other_quarantined,
                              # the seeded day, not the one at request time: the module may
                              # cross the clinic's midnight
                              calls=seeded.failed.due_at.astimezone(ZoneInfo(
                                  seeded.ada.location.timezone)).date().isoformat())
    # No app context held across requests: Flask-Login keeps the user in it, and two
    # accounts' clients would share one.
    yield app, day


def _client(app, name):
    client = app.test_client()
    assert login(client, f"{name}@clinic.example").status_code == 302
    return client


def _other_clinic_urls(app, day):
    """Every admin GET route, filled in with clinic L-2's records where it takes an id."""
    values = {"appointment_id": day.mary, "patient_id": day.mary_patient,
              "notification_id": day.other_failed, "export_type": "csv",
              "template": "reminder.sms.en.txt", "alert_id": 1}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods or \
                rule.endpoint.endswith(".static"):
            continue
        try:
            urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule))
        except KeyError:
            continue
    searches = [f"/admin/{view}/?search={term}" for view in ("appointment", "patient")
                for term in ("Seacole", "(415) 555-0177", "A-2001", "P-7")]
    filtered = [f"/admin/quarantine/details/?id={day.other_quarantined}",
                "/admin/notification/?clinic=L-2", "/admin/notification/?clinic=L-2&outcome=failed",
                "/admin/calls/?clinic=L-2", "/admin/calls/export.csv?clinic=L-2",
                "/admin/calls/export.csv", "/admin/appointment/export/csv/",
                "/admin/delivery/?days=365", "/admin/today.json"]
    return sorted(set(urls)) + searches + filtered


@pytest.mark.parametrize("name", ["staff-a", "viewer-a"])
def test_an_account_of_clinic_a_sees_nothing_of_clinic_b(seeded, name):
    app, day = seeded
    client = _client(app, name)
    walked = 0
    for url in _other_clinic_urls(app, day):
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        walked += 1
        if response.status_code in (302, 403, 404):
            continue
        body = response.get_data(as_text=True)
        for secret in OTHER_CLINIC:
            if secret in url:  # a search echoes its own term; its results must not appear
                continue
            assert secret not in body, (name, url, secret)
    assert walked > 30
    today = client.get("/admin/today.json").get_json()
    assert today["locations"] == [day.main]


def test_direct_urls_to_clinic_b_are_not_found_for_clinic_a_staff(seeded):
    app, day = seeded
    client = _client(app, "staff-a")
    for url in (f"/admin/appointment/timeline/{day.mary}", f"/admin/patient/{day.mary_patient}",
                f"/admin/notification/resend/{day.other_failed}",
                f"/admin/notification/cancel/{day.other_failed}",
                "/admin/calls/?clinic=L-2", "/admin/calls/export.csv?clinic=L-2"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.get_data(as_text=True)  # the admin's page, not JSON
    # Their own clinic's records open.
    assert client.get(f"/admin/appointment/timeline/{day.grace}").status_code == 200


def test_actions_on_clinic_b_are_refused_and_change_nothing(seeded):
    app, day = seeded
    client = _client(app, "staff-a")
    token = csrf_token(client, "/admin/")
    for url, data in ((f"/admin/notification/resend/{day.other_failed}", {"seen": "0"}),
                      (f"/admin/notification/cancel/{day.other_failed}", {}),
                      (f"/admin/patient/{day.mary_patient}/consent",
                       {"channel": "sms", "decision": "opt-out", "reason": "x"}),
                      ("/admin/calls/called", {"appointment": "A-2001", "kind": "reminder"})):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 404, url
    with app.app_context():
        assert db.session.get(Notification, day.other_failed).status == "failed"
        assert db.session.query(Notification).filter(
            Notification.dedupe_key.like("%resend%")).count() == 0
        assert db.session.query(AuditEntry).filter(AuditEntry.action.in_(
            ("resend", "cancel", "consent", "called"))).count() == 0


def test_admins_see_both_clinics(seeded):
    app, day = seeded
    client = _client(app, "admin")
    for url, wanted in (("/admin/appointment/", ("A-1001", "A-2001")),
                        ("/admin/patient/?search=Seacole", ("P-7",)),
                        (f"/admin/calls/?day={day.calls}", ("A-1002", "A-2001")),
                        (f"/admin/calls/export.csv?day={day.calls}", ("A-1002", "A-2001")),
                        (f"/admin/appointment/timeline/{day.mary}", ("A-2001",)),
                        ("/admin/notification/?clinic=L-2", ("A-2001",)),
                        ("/admin/quarantine/", ("A-1999", "A-2999"))):
        body = client.get(url).get_data(as_text=True)
        for text in wanted:
            assert text in body, (url, text)
    assert len(client.get("/admin/today.json").get_json()["locations"]) == 3


def test_clinic_a_staff_see_their_own_records(seeded):
    app, day = seeded
    client = _client(app, "staff-a")
    body = client.get("/admin/patient/?search=(312) 555-0142").get_data(as_text=True)
    assert "P-2" in body
    assert "A-1002" in client.get(f"/admin/calls/?day={day.calls}").get_data(as_text=True)
