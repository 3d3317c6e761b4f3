"""How the texts speak of replies: reminders say how to answer, change and cancellation
notices stay one segment, acknowledgements say what was understood, in en and es."""

import pytest

from actors.rendering import render
from actors.segments import is_gsm7
from tests.actors.reminders.test_templates import context


@pytest.mark.parametrize(("language", "how"), [("en", "Reply C to confirm, X to cancel"),
                                               ("es", "Responda C para confirmar, X para cancelar")])
def test_reminders_say_how_to_answer_in_one_segment(app, language, how):
    rendered = render("reminder", "sms", context(language), language)
    assert how in rendered.body and rendered.segments == 1, (len(rendered.body), rendered.body)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", ["change", "cancellation"])
def test_change_and_cancellation_notices_are_one_segment(app, kind, language):
    rendered = render(kind, "sms", context(language), language)
    assert is_gsm7(rendered.body) and rendered.segments == 1, (len(rendered.body), rendered.body)


@pytest.mark.parametrize(("language", "answer", "says"), [
    ("en", "confirm", "is confirmed"), ("en", "cancel", "asked Main St Clinic to cancel"),
    ("en", "unclear", "Please call Main St Clinic at +13125550123"),
    ("es", "confirm", "queda confirmada"), ("es", "cancel", "cancelar su cita"),
    ("es", "unclear", "Llame a Main St Clinic al +13125550123"),
])
def test_acknowledgements_say_what_was_understood(app, language, answer, says):
    rendered = render("reply", "sms", {**context(language), "answer": answer}, language)
    assert says in rendered.body and rendered.segments == 1, rendered.body


def test_email_links_appear_only_with_a_notification(app):
    plain = render("reminder", "email", context("en"), "en")
    assert "Confirm:" not in plain.body and "call +13125550123" in plain.body
    links = {"confirm_url": "https://x.example/r/a", "cancel_url": "https://x.example/r/b",
             "preferences_url": "https://x.example/u/c"}
    rendered = render("reminder", "email", {**context("en"), **links}, "en")
    assert "Confirm: https://x.example/r/a" in rendered.body
    assert 'href="https://x.example/u/c"' in rendered.html
    cancellation = render("cancellation", "email", {**context("en"), **links}, "en")
    assert "/r/" not in cancellation.body and "https://x.example/u/c" in cancellation.body
