"""The patients' pages in a real browser (Debian's Chromium, driven by Playwright), at a
phone's size: the Confirm link's page and its one button, a second click, the preferences
page in Spanish; no horizontal scrolling, no script, no CSP complaint, a few kilobytes."""
import threading
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from actors.links import preferences_token, reply_token
from tests.conftest import drain
from tests.web import replies_support as support
from tests.web.admin.test_browser import ARGS, CHROMIUM, _free_port
from tests.web.replies_support import (
    book,
    notifications,
    remind,
    reply_config,
)

# The fixtures this module uses, shared with the other reply tests.
appointment_system = support.appointment_system
appointment_system_server = support.appointment_system_server

PHONE_SCREEN = {"width": 360, "height": 640}


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
def live(make_app, appointment_system):
    port = _free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", **reply_config(appointment_system))
    with app.app_context(), serving(app, port) as base:
        yield app, base


@pytest.fixture
def phone():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = chromium.new_context(viewport=PHONE_SCREEN, is_mobile=True,
                                       java_script_enabled=False)
        page = context.new_page()
        page.complaints = []
        page.on("console", lambda message: page.complaints.append(message.text))
        yield page
        chromium.close()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]


def test_a_patient_confirms_on_a_phone_once(live, phone, appointment_system):
    app, base = live
    book(preferred_channel="email")
    remind(app)
    (notification,) = notifications(kind="reminder")
    answer = phone.goto(f"{base}/r/{reply_token(notification.id, 'confirm')}")
    assert len(answer.body()) < 4096
    expect(phone.locator("h1")).to_have_text("Your appointment")
    expect(phone.locator("main")).to_contain_text("Main St Clinic")
    button = phone.get_by_role("button", name="Confirm my appointment")
    expect(button).to_be_visible()
    assert _fits(phone) and phone.locator("button").count() == 1
    button.click()
    expect(phone.locator("main")).to_contain_text("knows you are coming")
    phone.go_back()  # the page again (never cached): the answer is known, no button
    expect(phone.locator("main")).to_contain_text("We already have your answer")
    assert phone.locator("button").count() == 0
    drain(app)
    assert len(appointment_system.received()) == 1
    assert phone.complaints == []


def test_a_spanish_patient_picks_both_channels(live, phone):
    app, base = live
    book(preferred_channel="email", language="es")
    remind(app)
    (notification,) = notifications(kind="reminder")
    phone.goto(f"{base}/u/{preferences_token(notification.id)}")
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.locator("h1")).to_have_text("¿Cómo prefiere que le contactemos?")
    phone.get_by_label("Ambos").check()
    phone.get_by_role("button", name="Guardar mi elección").click()
    expect(phone.locator("main")).to_contain_text("Guardado")
    expect(phone.get_by_label("Ambos")).to_be_checked()
    assert _fits(phone) and phone.complaints == []
