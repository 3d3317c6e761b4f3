"""A staff member in a real browser (Debian's Chromium, driven by Playwright): log in, find the
patient by phone, open the timeline, resend the failed reminder and watch it arrive.

The app runs on a real HTTP server with a Dramatiq worker in threads (StubBroker); the resend
goes to the fake Twilio, and the test then plays Twilio's signed delivery callback.
"""
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from db import Notification, db
from tests.conftest import TWILIO_TOKEN, running_worker
from tests.web.admin.conftest import FAST_HASH, PASSWORD, PHONE, make_clinic
from web.admin.cli import seed_demo_account

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_VENUE = '"><img src=x onerror=alert(1)>'

# Chromium drops the download of a static file when the page moves on; werkzeug's test server
# then fails while draining the dropped socket and never closes the file it was sending
# (serving.py, ``execute``'s finally), which is collected with a ResourceWarning. The files
# are the admin's static assets, not anything the app opens; nothing else is ignored.
DROPPED_DOWNLOADS = pytest.mark.filterwarnings(
    "ignore:unclosed file <_io.BufferedReader name='[^']*/static/:ResourceWarning")
pytestmark = DROPPED_DOWNLOADS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app, port):
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live(make_app):
    port = _free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", ADMIN_REFRESH_SECONDS=1,
                   **FAST_HASH)
    with app.app_context():
        clinic = make_clinic(given_name=HOSTILE_NAME, venue=HOSTILE_VENUE)
        seed_demo_account("staff@clinic.example", PASSWORD, role="staff", locations=["L-1"])
        with serving(app, port) as base, running_worker(app):
            yield app, base, clinic


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _wait_for_status(key: str, status: str) -> Notification:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db.session.expire_all()
        found = db.session.scalars(select(Notification).where(
            Notification.dedupe_key == key)).one_or_none()
        if found is not None and found.status == status:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{key} never reached {status}")


def test_staff_resends_a_failed_reminder_and_sees_it_delivered(live, browser, fake_providers):
    _app, base, clinic = live
    twilio, _ = fake_providers
    page = browser.new_page()
    dialogs, csp_errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: csp_errors.append((page.url, message.text))
            if "Content Security Policy" in message.text else None)

    page.goto(f"{base}/admin/appointment/")
    expect(page).to_have_url(f"{base}/auth/login?next=/admin/appointment/")
    page.fill("input[name=email]", "staff@clinic.example")
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()

    page.fill("input[name=search]", "(312) 555-0100")  # as the patient says it on the phone
    page.press("input[name=search]", "Enter")
    page.get_by_role("link", name="A-1001").click()
    expect(page.locator("#patient-phone")).to_have_text(PHONE)
    expect(page.locator("#timeline")).to_contain_text(
        "Reminder by SMS: sending → failed (the sender): phone switched off or out of reach")

    failed_row = page.locator(f'tr[data-notification="{clinic.failed.id}"]')
    failed_row.get_by_role("link", name="Resend").click()
    page.click("#confirm")
    expect(page.locator(".alert-success")).to_contain_text("queued to resend")

    resent = _wait_for_status(f"{clinic.failed.dedupe_key}:resend-1", "sent")
    sms = twilio.sent_to(PHONE)[-1]
    params = {"MessageSid": resent.provider_message_id, "MessageStatus": "delivered",
              "AccountSid": sms.get("AccountSid", "AC1")}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(sms["StatusCallback"], params)
    callback = requests.post(sms["StatusCallback"], data=params, timeout=10,
                             headers={"X-Twilio-Signature": signature})
    assert callback.status_code < 300, callback.text

    page.reload()
    expect(page.locator(f'tr[data-notification="{resent.id}"] .status')).to_have_text(
        "Reminder delivered by SMS")

    page.goto(f"{base}/admin/")
    # The refresher polled the JSON feed and redrew (the script runs under the CSP).
    expect(page.locator("#today")).to_have_attribute("data-refreshed", re.compile(r"\d+"),
                                                     timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-today.png"), full_page=True)
    assert (ARTIFACTS / "admin-today.png").stat().st_size > 10_000
    assert dialogs == [] and csp_errors == []
    page.close()
