"""Every admin route, walked as anonymous, viewer, staff and admin: exactly the README's matrix."""
import re

import pytest

from tests.web.admin.conftest import EMAIL, PHONE, csrf_token, login

EVERYONE, STAFF, ADMIN = {"viewer", "staff", "admin"}, {"staff", "admin"}, {"admin"}

#: README "Admin": who may open each page (by Flask-Admin view endpoint).
PAGES = {
    "admin": EVERYONE,  # Today and its JSON
    "notification": EVERYONE, "alert": EVERYONE, "syncrun": EVERYONE, "deadletters": EVERYONE,
    "delivery": EVERYONE,  # rates per clinic and day: counts only
    "appointment": STAFF, "patient": STAFF, "quarantine": STAFF, "calls": STAFF,
    "templates": ADMIN, "staffaccount": ADMIN, "auditlog": ADMIN,
    "inbox": STAFF,  # patients' own words: the replies no appointment matched
    "broadcasts": STAFF,  # one clinic's notice to everyone booked on a day
    "pauses": STAFF,  # what ops paused (clinics and channels, no patient); admins switch
    "clinicsettings": ADMIN,  # each clinic's own window, days, quiet hours, help contact
}
#: Actions: staff and admin, even on a page a viewer may open.
ACTIONS = {"notification.resend": STAFF, "notification.cancel": STAFF, "calls.called": STAFF,
           "alert.acknowledge": STAFF, "alert.resolve": STAFF, "patient.consent": STAFF,
           "deadletters.replay": STAFF, "inbox.handle": STAFF,
           "broadcasts.make_preview": STAFF, "broadcasts.confirm": STAFF,
           "pauses.pause": ADMIN, "pauses.resume": ADMIN}


def admin_routes(app, clinic):
    """(endpoint, method, url) for every rule of every admin view, with real ids filled in."""
    values = {"appointment_id": clinic.appointment.id, "patient_id": clinic.patient.id,
              "notification_id": clinic.failed.id, "alert_id": clinic.alert_id,
              "export_type": "csv", "template": "reminder.sms.en.txt", "response_id": 1,
              "broadcast_id": 1, "location_id": clinic.location.id}
    ids = {"appointment": clinic.appointment.id, "patient": clinic.patient.id,
           "notification": clinic.failed.id, "alert": clinic.alert_id,
           "syncrun": clinic.run.id, "quarantine": clinic.quarantined.id,
           "staffaccount": 1, "auditlog": 1, "inbox": 1}
    routes = []
    for rule in app.url_map.iter_rules():
        view = rule.endpoint.split(".")[0]
        if view not in PAGES or rule.endpoint.endswith(".static"):
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
        if url.endswith(("/details/", "/edit/")):
            url += f"?id={ids[view]}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, url))
    return sorted(routes)


def test_the_walk_covers_every_admin_view(app, clinic):
    views = {endpoint.split(".")[0] for endpoint, _, _ in admin_routes(app, clinic)}
    assert views == set(PAGES)
    admin_rules = {r.endpoint.split(".")[0] for r in app.url_map.iter_rules()
                   if r.rule.startswith("/admin") and not r.endpoint.endswith(".static")}
    assert admin_rules == set(PAGES), "a new admin view needs its line in the role matrix"


def _request(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token})


@pytest.mark.parametrize("role", ["anonymous", "viewer", "staff", "admin"])
def test_each_role_gets_exactly_the_access_of_the_matrix(app, client, accounts, clinic, role):
    if role != "anonymous":
        assert login(client, accounts[role]).status_code == 302
    token = csrf_token(client, "/auth/login" if role == "anonymous" else "/admin/")
    seen = []
    for endpoint, method, url in admin_routes(app, clinic):
        allowed = ACTIONS.get(endpoint, PAGES[endpoint.split(".")[0]])
        response = _request(client, method, url, token)
        location = response.headers.get("Location", "")
        seen.append((method, url, response.status_code))
        if role == "anonymous":
            assert response.status_code == 302 and "/auth/login" in location, (method, url)
        elif role in allowed:
            assert response.status_code < 500, (method, url, response.status_code)
            assert response.status_code not in (401, 403), (method, url)
            assert "/auth/login" not in location, (method, url)
        else:
            assert response.status_code == 403, (method, url, response.status_code)
    assert len(seen) > 90


def test_a_viewer_never_sees_a_name_phone_or_email(app, client, accounts, clinic):
    login(client, accounts["viewer"])
    for endpoint, method, url in admin_routes(app, clinic):
        if method != "GET" or "viewer" not in ACTIONS.get(endpoint, PAGES[endpoint.split(".")[0]]):
            continue
        body = client.get(url).get_data(as_text=True)
        for secret in ("Lovelace", PHONE, PHONE[2:], EMAIL):
            assert secret not in body, (url, secret)


def test_the_menu_lists_only_what_the_role_may_open(client, accounts, clinic):
    login(client, accounts["viewer"])
    menu = client.get("/admin/").get_data(as_text=True)
    assert "/admin/notification/" in menu and "/admin/alert/" in menu
    for hidden in ("/admin/patient/", "/admin/appointment/", "/admin/templates/",
                   "/admin/staffaccount/", "/admin/auditlog/"):
        assert hidden not in menu
