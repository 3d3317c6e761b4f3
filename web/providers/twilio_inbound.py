"""POST /api/v1/twilio/inbound: replies to our number; STOP, START and HELP keywords, and
the patient's answers C (CONFIRM) and X (docs/architecture.md, "Replies and self-service").

Carriers require STOP and its variants to opt the sender out at once; the change is kept
in the consent history (db.consent) with its source, and the send actors then suppress
every further SMS to that patient. CANCEL is one of those carrier words, so it opts out
too; its answer says how to cancel the appointment instead. C and X are matched to an
appointment and acknowledged by actors.replies; anything else goes to the staff inbox.
"""
import logging
import re
import unicodedata
import uuid

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from twilio.twiml.messaging_response import MessagingResponse

from actors.clinic_settings import help_contact
from actors.constraints import column_length
from actors.replies import record_sms_reply
from db import Appointment, Patient, db, record_consent, utcnow
from web.providers.twilio_auth import require_twilio_signature

log = logging.getLogger(__name__)
blp = Blueprint("twilio_inbound", __name__, url_prefix="/api/v1/twilio")

STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START = {"START", "YES", "UNSTOP"}
HELP = {"HELP", "INFO"}
# The same words in Spanish (accents and case do not matter: see keyword()). Twilio answers
# only the English ones itself, so these get their confirmation from us.
STOP_ES = {"PARAR", "BAJA", "ALTO", "DETENER", "CANCELAR", "NOMAS", "FIN"}
START_ES = {"COMENZAR", "INICIAR", "ALTA", "REANUDAR", "SI"}
HELP_ES = {"AYUDA"}
# The patient's answers to a reminder; CONFIRMAR because "SI" already means START.
CONFIRM = {"C", "CONFIRM", "CONFIRMAR"}
CANCEL_APPOINTMENT = {"X"}
#: Carrier opt-out words a patient may well mean as "cancel my appointment".
CANCEL_WORDS = {"CANCEL": "en", "CANCELAR": "es"}
# Sent as the opt-out's own reply (TwiML): after the opt-out the send path refuses any SMS
# to this number, which is right for everything but this one answer.
CANCEL_TEXT = {
    "en": "You will get no more texts from us. To cancel your appointment, call {clinic} at "
          "{phone}. Reply START to get texts again.",
    "es": "Ya no recibirá más mensajes. Para cancelar su cita llame a {clinic} al {phone}. "
          "Responda COMENZAR para volver a recibirlos.",
}
#: The answer to a number no patient has: there is no patient to notify, so TwiML says it.
UNKNOWN_TEXT = "We could not match your message to an appointment. Please call {phone}."
CONFIRMATION_ES = {
    "stop": "Ya no recibirá más mensajes de recordatorio. Responda COMENZAR para volver a "
            "recibirlos.",
    "start": "Volverá a recibir mensajes de recordatorio. Responda PARAR para dejar de "
             "recibirlos.",
}
#: Longer than any keyword by far, shorter than a ten-part SMS: a bound on the work done.
MAX_BODY_CHARS = 1600
HELP_TEXT = {
    "en": "{clinic}: for help with your appointment call {phone}. Reply STOP to opt out.",
    "es": "{clinic}: para ayuda con su cita llame al {phone}. Responda STOP para no recibir "
          "mensajes.",
}


def keyword(body: str | None) -> str:
    """"Stop ", " stop." and "S T O P" are all STOP; full-width "ＳＴＯＰ" (NFKC) and accented
    "Sí", "NO MÁS" (the marks dropped after NFKD) are their plain forms."""
    text = unicodedata.normalize("NFKC", (body or "")[:MAX_BODY_CHARS])
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text).upper()


def _twiml(response: MessagingResponse | None = None) -> Response:
    return Response(str(response or MessagingResponse()), mimetype="text/xml")


def _patients(sender: str | None) -> list[Patient]:
    if not sender or len(sender) > column_length(Patient.phone) or not sender.isprintable():
        return []  # no patient has it, and PostgreSQL would refuse a NUL in the query
    # Several patients (a parent and children) may share one number: the reply is theirs.
    return list(db.session.execute(select(Patient).where(Patient.phone == sender)
                                   .with_for_update()).scalars())


def _help_text(patients: list[Patient], language: str | None = None, texts=HELP_TEXT) -> str:
    appointment = db.session.execute(
        select(Appointment).where(Appointment.patient_id.in_([p.id for p in patients]))
        .order_by(Appointment.starts_at.desc()).limit(1)).scalars().first() if patients else None
    language = (language or (patients[0].language if patients else "en")).split("-")[0]
    template = texts.get(language, texts["en"])
    # The clinic's own help contact (clinic settings), else its phone, else the global one.
    phone = help_contact(appointment.location) if appointment is not None else ""
    if not phone:
        return template.format(clinic="Appointment reminders",
                               phone=current_app.config["CLINIC_HELP_CONTACT"])
    return template.format(clinic=appointment.location.name, phone=phone)


def _set_consent(patients: list[Patient], *, opted_out: bool, word: str) -> int:
    changed = 0
    for patient in patients:
        if patient.sms_opted_out != opted_out:
            record_consent(patient, "sms", opted_out=opted_out, source="sms-keyword",
                           reason=f"replied {word}")
            changed += 1
    return changed


@blp.before_request
def _authenticate():
    require_twilio_signature()


def _message_sid() -> str:
    sid = request.form.get("MessageSid") or ""
    # Twilio's SID is what makes a retried webhook count once; without a usable one the
    # reply is still stored, just not deduplicated.
    return sid if sid.isalnum() and len(sid) <= 64 else f"unknown-{uuid.uuid4().hex}"


def _answer(kind: str, patients: list[Patient]) -> Response:
    """C, X or anything else: stored, matched or sent to the inbox, acknowledged."""
    text = (request.form.get("Body") or "")[:MAX_BODY_CHARS].replace("\x00", "")
    sender = request.form.get("From")
    answer = record_sms_reply(message_sid=_message_sid(), phone=sender if patients else None,
                              patients=patients, kind=kind, text=text, now=utcnow())
    db.session.commit()
    if answer.response is not None and answer.ack is None and not patients:
        reply = MessagingResponse()
        reply.message(UNKNOWN_TEXT.format(phone=current_app.config["CLINIC_HELP_CONTACT"]))
        return _twiml(reply)
    return _twiml()  # the acknowledgement is a notification of its own, sent after commit


@blp.route("/inbound", methods=["POST"])
def inbound():
    word = keyword(request.form.get("Body"))
    kind = ("stop" if word in STOP | STOP_ES else "start" if word in START | START_ES
            else "help" if word in HELP | HELP_ES else "confirm" if word in CONFIRM
            else "cancel" if word in CANCEL_APPOINTMENT else "unclear")
    patients = _patients(request.form.get("From"))
    if kind in ("confirm", "cancel", "unclear"):
        return _answer(kind, patients)
    if kind == "help":
        reply = MessagingResponse()
        reply.message(_help_text(patients, "es" if word in HELP_ES else None))
        db.session.rollback()
        log.info("inbound HELP answered", extra={"patient_ids": [p.id for p in patients]})
        return _twiml(reply)
    changed = _set_consent(patients, opted_out=(kind == "stop"), word=word)
    db.session.commit()
    log.info("inbound consent keyword", extra={"keyword": kind, "changed": changed,
                                               "patient_ids": [p.id for p in patients]})
    if word in CANCEL_WORDS:
        reply = MessagingResponse()
        reply.message(_help_text(patients, CANCEL_WORDS[word] if word != "CANCEL" else None,
                                 CANCEL_TEXT))
        return _twiml(reply)
    if word in STOP_ES | START_ES:
        reply = MessagingResponse()
        reply.message(CONFIRMATION_ES[kind])
        return _twiml(reply)
    # Twilio answers STOP/START itself (carrier rules); an empty TwiML adds nothing.
    return _twiml()
