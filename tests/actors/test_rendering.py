"""Per-clinic languages: a patient gets their own language when the clinic offers it and a
template exists, else the clinic's first language, else English; the dates follow the
language the message is written in. A clinic without languages offers each patient theirs."""
from datetime import date

import pytest

from actors.clinic_settings import forget_clinic_settings, parse_languages
from actors.rendering import context_for, language_for, render
from db import db
from db.clinic_settings import ClinicSettings
from tests.actors.reminders.support import booking, clinic, patient

DAY = date(2026, 12, 15)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


def _offer(location, languages):
    db.session.merge(ClinicSettings(location_id=location.id, languages=languages))
    db.session.commit()
    forget_clinic_settings()  # what saving in the admin does


def _reminder_sms(appointment):
    person, location = appointment.patient, appointment.location
    return render("reminder", "sms", context_for(appointment, person, location),
                  language_for(person, location)).body


def test_a_clinic_without_languages_writes_to_each_patient_in_their_own(app):
    location = clinic("L-1", "America/New_York")
    spanish = booking(location, patient(language="es"), DAY)
    french = booking(location, patient(language="fr"), DAY)
    assert _reminder_sms(spanish).startswith("Recordatorio")
    assert _reminder_sms(french).startswith("Hi Ada, reminder")  # no French templates: English


def test_a_patients_language_the_clinic_offers_wins_else_the_clinics_first(app):
    location = clinic("L-1", "America/New_York")
    _offer(location, "es,en")
    english = booking(location, patient(language="en"), DAY)
    french = booking(location, patient(language="fr"), DAY)
    unknown = booking(location, patient(language=""), DAY)
    assert _reminder_sms(english).startswith("Hi Ada, reminder")
    assert _reminder_sms(french).startswith("Recordatorio")  # not offered: the clinic's first
    assert _reminder_sms(unknown).startswith("Recordatorio")
    assert context_for(french, french.patient, location)["date"] == "mar 15 dic"


def test_a_clinic_offering_only_english_writes_english_to_a_spanish_speaker(app):
    location = clinic("L-1", "America/New_York")
    _offer(location, "en")
    spanish = booking(location, patient(language="es"), DAY)
    assert _reminder_sms(spanish).startswith("Hi Ada, reminder")
    assert context_for(spanish, spanish.patient, location)["date"] == "Tue 15 Dec"


def test_a_clinics_first_language_without_templates_falls_back_to_english(app):
    location = clinic("L-1", "America/New_York")
    _offer(location, "fr,es")
    german = booking(location, patient(language="de"), DAY)
    spanish = booking(location, patient(language="es"), DAY)
    assert _reminder_sms(german).startswith("Hi Ada, reminder")
    assert _reminder_sms(spanish).startswith("Recordatorio")


def test_languages_are_known_codes_each_once():
    assert parse_languages(" ES, en ") == "es,en"
    for bad in ("xx", "en,en", "english", "en-US", ",", "e1"):
        with pytest.raises(ValueError):
            parse_languages(bad)
