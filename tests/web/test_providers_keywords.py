"""Opt-out and opt-in in the patient's language: Spanish keywords, full-width and accented
forms, all in the consent history with the word the patient sent."""
import pytest
from sqlalchemy import select

from db import ConsentChange, db
from tests.web.test_providers_twilio import PHONE, reply, send_change
from web.providers.twilio_inbound import keyword


def _history():
    return [(c.channel, c.opted_out, c.source, c.reason) for c in db.session.execute(
        select(ConsentChange).order_by(ConsentChange.id)).scalars()]


def test_parar_opts_out_and_comenzar_opts_back_in(app, client, fake_providers):
    twilio, _ = fake_providers
    second, _ = send_change(client, app)
    stop = reply(client, "PARAR")
    assert stop.status_code == 200 and "COMENZAR" in stop.get_data(as_text=True)
    third, suppressed = send_change(client, app, first=second)
    assert suppressed.status == "suppressed"
    start = reply(client, "Comenzar")
    assert "PARAR" in start.get_data(as_text=True)
    _, sent = send_change(client, app, first=third)
    assert sent.status == "sent" and len(twilio.sent_to(PHONE)) == 2
    assert _history() == [("sms", True, "sms-keyword", "replied PARAR"),
                          ("sms", False, "sms-keyword", "replied COMENZAR")]


@pytest.mark.parametrize("body", ["baja", "Alto", "¡ALTO!", "detener", "Cancelar", "No más",
                                  "ＳＴＯＰ", "ｐａｒａｒ", "Fin."])
def test_spanish_full_width_and_accented_stop_words_opt_out(app, client, body):
    send_change(client, app)
    assert reply(client, body).status_code == 200
    (change,) = db.session.execute(select(ConsentChange)).scalars().all()
    assert change.opted_out and change.source == "sms-keyword"


@pytest.mark.parametrize("body", ["Sí", "SI", "iniciar", "ＳＴＡＲＴ", "Reanudar"])
def test_spanish_and_full_width_start_words_opt_back_in(app, client, body):
    send_change(client, app)
    reply(client, "BAJA")
    reply(client, body)
    assert [opted_out for _, opted_out, _, _ in _history()] == [True, False]


def test_ayuda_answers_in_spanish(app, client):
    send_change(client, app)
    text = reply(client, "Ayuda").get_data(as_text=True)
    assert "para ayuda con su cita" in text and "Main St Clinic" in text
    assert _history() == []


@pytest.mark.parametrize(("body", "word"), [
    ("ＳＴＯＰ", "STOP"), ("S T O P", "STOP"), ("ｃｏｍｅｎｚａｒ", "COMENZAR"), ("sí", "SI"),
    ("¿Parar?", "PARAR"), ("NO MÁS", "NOMAS"), ("Ａｌｔｏ", "ALTO"),
])
def test_keywords_are_normalised(body, word):
    assert keyword(body) == word


def test_spanish_sentences_are_not_keywords(app, client):
    send_change(client, app)
    reply(client, "no quiero parar los recordatorios")
    assert _history() == []
