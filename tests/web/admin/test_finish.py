"""The finish: a styled login page with the product's name, friendly 403 and 404 pages in the
admin's layout (not JSON), the e-mail preview in a sandboxed frame, a favicon; and Today's
numbers each opening the list behind them."""
import re

from tests.web.admin.conftest import login


def test_the_login_page_is_styled_and_named(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Patient Notifier" in page and 'lang="en"' in page
    assert "bootstrap.min.css" in page and "admin.css" in page and "favicon.svg" in page
    assert re.search(r'<label for="email">E-mail</label>', page)


def test_forbidden_and_missing_pages_are_friendly_pages_in_the_admin_layout(client, accounts):
    login(client, accounts["viewer"])
    response = client.get("/admin/patient/")
    assert response.status_code == 403 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Not for this account" in page and 'id="account"' in page  # the admin's layout
    response = client.get("/admin/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Not found" in response.get_data(as_text=True)


def test_the_email_preview_is_a_sandboxed_frame(client, accounts):
    login(client, accounts["admin"])
    page = client.get("/admin/templates/edit/reminder.email.en.html").get_data(as_text=True)
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert re.search(r"\ssandbox[\s>]", frame) and 'title="E-mail preview' in frame
    assert "srcdoc=\"&lt;" in frame  # the HTML as the patient sees it, escaped into the frame
    sms = client.get("/admin/templates/edit/reminder.sms.en.txt").get_data(as_text=True)
    assert "<iframe" not in sms and 'id="preview"' in sms


def test_a_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    with client.get(response.headers["Location"]) as icon:
        assert icon.status_code == 200 and b"<svg" in icon.data


def test_every_number_on_today_opens_the_list_with_that_many_rows(client, accounts, clinic):
    login(client, accounts["staff"])
    page = client.get("/admin/").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" data-field="(loc-\d+-\w+-out-\w+)">(\d+)</a>', page)
    assert len(links) == 10  # five outcomes by two channels
    assert any(number != "0" for _, _, number in links)
    for href, field, number in links:
        listing = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert listing.count('class="col-status"') == int(number), (field, href)
