"""The admin as a receptionist uses it, in Debian's Chromium (Playwright), on one seeded day:
find a patient by phone, read in words and clinic time that the reminder was delivered, open
the appointment and see its move before -> after, click a clinic's failed count on Today.
Then every admin page is checked with axe-core (vendored under vendor/, injected by the test:
nothing from a CDN) for serious or critical violations, and screenshotted into test-artifacts/.
One server, one browser and one seeded day for the whole module."""
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.web.admin.conftest import FAST_HASH, PASSWORD
from tests.web.admin.seeding import RECEPTIONIST, seed_day
from tests.web.admin.test_browser import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    DROPPED_DOWNLOADS,
    _free_port,
    serving,
)
from web.admin.cli import seed_demo_account

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SHOTS = ARTIFACTS / "admin"
ADMIN = "admin@clinic.example"
# The same test server and browser as test_browser: a static file whose download the page
# dropped is never closed by werkzeug (a CI run failed on admin.js here).
pytestmark = DROPPED_DOWNLOADS


@pytest.fixture(scope="module")
def live(make_module_app):
    port = _free_port()
    app = make_module_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", ADMIN_REFRESH_SECONDS=2,
                          **FAST_HASH)
    with app.app_context():
        day = seed_day("America/Los_Angeles")
        ids = {"ada": day.ada.id, "ada_patient": day.ada.patient_id, "main": day.ada.location_id,
               "failed": day.failed.id}
        seed_demo_account(RECEPTIONIST, PASSWORD, role="staff", locations=["L-1"])
        seed_demo_account(ADMIN, PASSWORD, role="admin")
        seed_demo_account("viewer@clinic.example", PASSWORD, role="viewer", locations=["L-1"])
    with serving(app, port) as base:
        yield base, ids


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _logged_in(browser, base, email):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/admin/")
    return page


def test_a_receptionist_finds_the_patient_reads_the_reminder_and_the_move(live, browser):
    base, ids = live
    page = _logged_in(browser, base, RECEPTIONIST)

    page.get_by_role("link", name="Patients").click()
    page.fill("input[name=search]", "(312) 555-0100")  # as the patient says it on the phone
    page.press("input[name=search]", "Enter")
    row = page.locator("table tbody tr", has_text="P-1")
    expect(row).to_have_count(1)
    status = row.locator('.reminder-status[data-channel="sms"]')
    expect(status).to_contain_text("Reminder delivered by SMS")
    expect(status).to_contain_text(re.compile(r"\w{3} \d{1,2} \w{3}, \d{1,2}:\d\d [AP]M P[SD]T"))

    row.get_by_role("link", name="P-1").click()
    page.get_by_role("link", name="A-1001").click()
    changes = page.locator("#changes")
    venue = changes.locator("tr", has_text="Venue")
    expect(venue).to_contain_text("Old Town Clinic (L-3)")
    expect(venue).to_contain_text("→ Main St Clinic (L-1)")
    expect(changes.locator("tr", has_text="Time")).to_contain_text(re.compile("P[SD]T"))
    expect(page.locator("#timeline")).to_contain_text("Reminder by SMS: sent → delivered")

    page.get_by_role("link", name="Today").click()
    failed = page.locator(f'a[data-field="loc-{ids["main"]}-sms-out-failed"]')
    expect(failed).to_have_text("1")
    failed.click()
    expect(page).to_have_url(re.compile(r"/admin/notification/\?.*outcome=failed"))
    assert "clinic=L-1" in page.url and "channel=sms" in page.url
    expect(page.locator("#showing")).to_contain_text("failed")
    table = page.locator("table.model-list tbody")
    expect(table).to_contain_text("A-1002")
    expect(table).to_contain_text("number not in service – call the patient")
    expect(table).not_to_contain_text("A-1001")
    page.context.close()


def test_today_updates_itself_without_a_reload(live, browser):
    base, _ = live
    page = _logged_in(browser, base, RECEPTIONIST)
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#today")).to_have_attribute("data-refreshed", re.compile(r"\d+"),
                                                     timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    page.context.close()


def _pages(ids):
    """(account, name, path) of every admin page a person opens."""
    return [
        (None, "login", "/auth/login"),
        (RECEPTIONIST, "today", "/admin/"),
        (RECEPTIONIST, "call-list", "/admin/calls/"),
        (RECEPTIONIST, "delivery", "/admin/delivery/"),
        (ADMIN, "delivery-year", "/admin/delivery/?days=365"),
        (RECEPTIONIST, "appointments", "/admin/appointment/"),
        (RECEPTIONIST, "appointment", f"/admin/appointment/timeline/{ids['ada']}"),
        (RECEPTIONIST, "patients", "/admin/patient/"),
        (RECEPTIONIST, "patient", f"/admin/patient/{ids['ada_patient']}"),
        (RECEPTIONIST, "notifications", "/admin/notification/"),
        (RECEPTIONIST, "resend", f"/admin/notification/resend/{ids['failed']}"),
        (RECEPTIONIST, "inbox", "/admin/inbox/"),
        (RECEPTIONIST, "alerts", "/admin/alert/"),
        (RECEPTIONIST, "sync-runs", "/admin/syncrun/"),
        (RECEPTIONIST, "quarantine", "/admin/quarantine/"),
        (ADMIN, "dead-letters", "/admin/dead-letters/"),
        (ADMIN, "templates", "/admin/templates/"),
        (ADMIN, "template-email", "/admin/templates/edit/reminder.email.en.html"),
        (ADMIN, "template-sms", "/admin/templates/edit/reminder.sms.en.txt"),
        (RECEPTIONIST, "broadcasts", "/admin/broadcasts/"),
        (RECEPTIONIST, "pauses", "/admin/pauses/"),
        (ADMIN, "clinic-settings", "/admin/clinic-settings/"),
        (ADMIN, "staff-accounts", "/admin/staffaccount/"),
        (ADMIN, "audit-log", "/admin/auditlog/"),
        ("viewer@clinic.example", "forbidden", "/admin/patient/"),
        (RECEPTIONIST, "not-found", "/admin/appointment/timeline/999999"),
    ]


def test_no_admin_page_has_a_serious_or_critical_accessibility_violation(live, browser):
    base, ids = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = AXE.read_text()
    pages, found = {}, {}
    for account, name, path in _pages(ids):
        if account not in pages:
            pages[account] = (_logged_in(browser, base, account) if account else
                              browser.new_context().new_page())
            # Injected into every document through the DevTools protocol, not as a <script>
            # tag: the pages' CSP stays as it is.
            pages[account].context.add_init_script(script=axe)
        page = pages[account]
        response = page.goto(f"{base}{path}")
        assert response.status == {"forbidden": 403, "not-found": 404}.get(name, 200), name
        page.wait_for_load_state("load")
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        if bad:
            found[name] = bad
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    for page in pages.values():
        page.context.close()
    (SHOTS / "axe-violations.json").write_text(json.dumps(found, indent=1))  # an artifact
    assert found == {}
    assert len(list(SHOTS.glob("*.png"))) >= len(_pages(ids))
