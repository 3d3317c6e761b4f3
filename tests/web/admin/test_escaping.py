"""Names and venues are data, never markup: hostile ones render as text on every page."""
import pytest

from tests.web.admin.conftest import login, make_clinic

NAME = "<script>alert(1)</script>"
VENUE = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile(app):
    return make_clinic(given_name=NAME, venue=VENUE)


def pages(clinic):
    return [
        "/admin/", "/admin/appointment/", "/admin/appointment/?search=Lovelace",
        f"/admin/appointment/timeline/{clinic.appointment.id}",
        "/admin/patient/", f"/admin/patient/{clinic.patient.id}",
        f"/admin/notification/resend/{clinic.failed.id}",
        f"/admin/notification/cancel/{clinic.pending.id}",
        f"/admin/quarantine/details/?id={clinic.quarantined.id}",
        "/admin/notification/", "/admin/alert/", "/admin/auditlog/",
    ]


def test_hostile_name_and_venue_render_as_text_everywhere(client, accounts, hostile):
    login(client, accounts["admin"])
    shown = {"name": 0, "venue": 0}
    for url in pages(hostile):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert NAME not in body, url
        assert "<img src=x" not in body and "onerror=alert(1)>" not in body, url
        shown["name"] += "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        shown["venue"] += "&lt;img src=x onerror=alert(1)&gt;" in body
    # The escaped text does appear: on the lists, the timeline, the patient page, Today...
    assert shown["name"] >= 4 and shown["venue"] >= 2, shown


def test_the_today_feed_is_json_and_the_page_writes_it_as_text(client, accounts, hostile):
    login(client, accounts["viewer"])
    response = client.get("/admin/today.json")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with client.get("/admin-assets/admin.js") as served:
        script = served.get_data(as_text=True)
    assert "innerHTML" not in script and "textContent" in script
