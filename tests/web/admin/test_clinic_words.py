"""No admin page, CSV or CLI output shows a UTC offset, microseconds, a raw timestamp or a
database id where a person reads it: every page walked for a seeded day in two time zones.
And the words: statuses and provider codes explained from one table."""
import html
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.channels import ses_email, twilio_sms
from db import Appointment, Location, Notification, Patient, db
from tests.web.admin.conftest import FAST_HASH, PASSWORD, login
from tests.web.admin.seeding import RECEPTIONIST, seed_day
from web.admin.cli import seed_demo_account
from web.admin.words import EXPLAINED, explain, status_words

ADMIN = "admin@clinic.example"
#: "+00:00", "+0100", "UTC"; a negative offset comes with a raw timestamp (below).
OFFSET = re.compile(r"\+\d\d:?\d\d\b|\bUTC\b")
MICROSECONDS = re.compile(r"\d\d:\d\d:\d\d\.\d+")
RAW_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d")


def visible_text(page: str) -> str:
    """What a person reads: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _database_ids() -> set[str]:
    ids = set()
    for model in (Location, Patient, Appointment, Notification):
        ids |= {str(i) for i in db.session.scalars(select(model.id))}
    return ids


def _urls(app, day) -> list[str]:
    values = {"appointment_id": day.ada.id, "patient_id": day.ada.patient_id,
              "notification_id": day.failed.id, "template": "reminder.email.en.html",
              "export_type": "csv"}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods or \
                rule.endpoint.endswith(".static") or "<alert_id>" in rule.rule:
            continue
        try:
            urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]),
                               rule.rule))
        except KeyError:  # a page of records this day does not have
            continue
    main = f"/admin/notification/?clinic=L-1&day={day.ada.local_date}"
    return sorted(set(urls)) + [main, "/admin/notification/?clinic=L-1&outcome=failed",
                                "/admin/delivery/?days=365", "/admin/patient/?search=Hopper"]


def _check(where: str, text: str, ids: set[str]) -> None:
    assert not OFFSET.search(text), (where, OFFSET.search(text).group())
    assert not MICROSECONDS.search(text), (where, MICROSECONDS.search(text).group())
    assert not RAW_TIMESTAMP.search(text), (where, RAW_TIMESTAMP.search(text).group())
    shown = ids & set(re.findall(r"\b\d+\b", text))
    assert not shown, (where, "database ids shown", shown)


# Either name of the zone: the pages show today and days ahead, which summer time may split.
@pytest.mark.parametrize("zone, abbreviations", [("America/Los_Angeles", ("PST", "PDT")),
                                                 ("Europe/Berlin", ("CET", "CEST"))])
def test_every_page_speaks_clinic_time_and_external_ids(make_app, zone, abbreviations):
    app = make_app(CLINIC_TIMEZONE=zone, **FAST_HASH)
    with app.app_context():
        day = seed_day(zone)
        seed_demo_account(ADMIN, PASSWORD, role="admin")
        seed_demo_account(RECEPTIONIST, PASSWORD, role="staff", locations=["L-1", "L-2"])
        urls = _urls(app, day)
        ids = _database_ids()
        ada = day.ada.id
        due_day = day.failed.due_at.astimezone(ZoneInfo(zone)).date().isoformat()
    # Requests outside the app context: Flask-Login keeps the user in it, and the two
    # accounts' clients would share one.
    walked = 0
    for account in (ADMIN, RECEPTIONIST):
        client = app.test_client()
        login(client, account)
        client.get(f"/admin/appointment/timeline/{ada}")  # an audit entry to read
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                continue
            walked += 1
            body = response.get_data(as_text=True)
            text = body if response.mimetype != "text/html" else visible_text(body)
            if response.mimetype == "application/json":
                # What the refresher writes into the page: the fields the page shows.
                shown = set(re.findall(r'data-(?:field|points|x)="([^"]+)"',
                                       client.get("/admin/").get_data(as_text=True)))
                text = " ".join(str(v) for k, v in response.get_json().get("fields", {}).items()
                                if k in shown)
            _check(f"{account} {url}", text, ids)
        page = visible_text(client.get(f"/admin/appointment/timeline/{ada}")
                            .get_data(as_text=True))
        assert any(name in page for name in abbreviations) and "P-1" in page and "A-1001" in page
    assert walked > 40
    csv = client.get(f"/admin/calls/export.csv?day={due_day}").get_data(as_text=True)
    assert "A-1002" in csv
    _check("call list CSV", csv, ids)

    with app.app_context():
        runner = app.test_cli_runner()
        for args in (["users", "create", "new@clinic.example", "--role", "staff",
                      "--location", "L-1", "--password", PASSWORD],
                     ["users", "unlock", "new@clinic.example"],
                     ["report", "call-list", "--date", due_day]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, (args, result.output)
            _check(" ".join(args[:2]), result.output, ids)


def test_every_provider_code_has_its_explanation_in_the_one_table():
    codes = {*map(str, twilio_sms.PERMANENT_CODES), *map(str, twilio_sms.CONSENT_CODES),
             *map(str, twilio_sms.RETRYABLE_CODES), *ses_email.PERMANENT_CODES}
    assert codes <= set(EXPLAINED), codes - set(EXPLAINED)
    assert explain("30005") == "number not in service – call the patient"


def test_statuses_read_as_sentences():
    assert status_words("sent", kind="reminder", channel="sms", provider="twilio") == \
        "Reminder sent by SMS, no receipt yet"
    assert status_words("delivered") == "Reminder delivered by SMS"
    assert status_words("sent", channel="email", provider="smtp") == \
        "Reminder sent by e-mail (accepted by the mail server)"
    assert status_words("failed", error_code="30005") == \
        "Failed (reminder by SMS): number not in service – call the patient"
    assert status_words("skipped") == "Reminder by SMS not sent: booked after its reminder day"
