"""Reminder texts: one GSM-7 segment for typical content, e-mail as HTML and plain text."""
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from actors.rendering import context_for, render
from actors.segments import is_gsm7

LOCATION = SimpleNamespace(name="Main St Clinic", address="1200 Main St, Springfield",
                           phone="+13125550123", timezone="America/New_York")


def context(language):
    appointment = SimpleNamespace(starts_at=datetime(2026, 12, 1, 19, 30, tzinfo=UTC),
                                  local_date=date(2026, 12, 1), status="booked")
    patient = SimpleNamespace(given_name="Alexandra", language=language)
    return context_for(appointment, patient, LOCATION)


@pytest.mark.parametrize("language", ["en", "es"])
def test_sms_reminder_is_one_gsm7_segment(app, language):
    rendered = render("reminder", "sms", context(language), language)
    assert is_gsm7(rendered.body), rendered.body  # e.g. no narrow no-break space from CLDR
    assert rendered.segments == 1, (len(rendered.body), rendered.body)
    for part in ("Alexandra", "Main St Clinic", "1200 Main St, Springfield", "+13125550123",
                 "STOP"):
        assert part in rendered.body
    assert ("2:30" if language == "en" else "14:30") in rendered.body


def test_unknown_language_falls_back_to_english(app):
    rendered = render("reminder", "sms", context("fr"), "fr")
    assert rendered.body.startswith("Hi Alexandra, reminder:")


@pytest.mark.parametrize("language", ["en", "es"])
def test_email_reminder_has_subject_text_and_html(app, language):
    rendered = render("reminder", "email", context(language), language)
    assert "Main St Clinic" in rendered.subject
    assert "1200 Main St, Springfield" in rendered.body
    assert rendered.html.startswith("<!doctype html>") and "Alexandra" in rendered.html
