"""The patients' pages, opened from our e-mails (docs/architecture.md, "Replies and
self-service").

``/r/<token>``: a Confirm or Cancel link. GET only shows the appointment and one button,
because mail scanners fetch links; the POST records the answer once (actors.replies), and
the appointment system hears through the outbox. ``/u/<token>``: GET lets the patient pick
SMS, e-mail, both or none; a POST without a choice is RFC 8058's one-click unsubscribe from
e-mail. A tampered or cut token, an expired link or a second answer gets a short page in the
patient's language, never a 500. The pages show only first name, clinic, date and time.
"""
import logging
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Blueprint, render_template, request
from sqlalchemy import select

from actors.links import read_preferences_token, read_reply_token
from actors.preferences import CHOICES, choose, current_choice, unsubscribe_email
from actors.replies import record_email_answer
from db import Notification, Patient, PatientResponse, db, utcnow
from web.self_service_text import TEXT, text_for

log = logging.getLogger(__name__)
blp = Blueprint("self_service", __name__)


def init_app(app) -> None:
    app.register_blueprint(blp)
#: Longer than any token we sign by far; a bound on what is verified.
MAX_TOKEN_CHARS = 200


def _page(language, status=200, **values):
    t = text_for(language)
    html = render_template("self_service/page.html", t=t, lang="es" if t is TEXT["es"] else "en",
                           heading=values.pop("heading", t["title"]),
                           lines=values.pop("lines", []), **values)
    return html, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _words(notification: Notification) -> dict:
    appointment, patient = notification.appointment, notification.patient
    location = appointment.location
    local = appointment.starts_at.astimezone(ZoneInfo(location.timezone))
    language = (patient.language or "en").split("-")[0]
    locale = language if language in ("en", "es") else "en"
    return {"first_name": patient.given_name, "clinic": location.name,
            "date": format_date(local.date(), format="EEEE d MMMM", locale=locale),
            "time": format_time(local.time(), format="short", locale=locale)}


def _notification(notification_id: int, *, lock: bool = False) -> Notification | None:
    statement = select(Notification).where(Notification.id == notification_id,
                                           Notification.channel == "email")
    if lock:  # two clicks at once: the second waits and then finds the first's answer
        statement = statement.with_for_update(of=Notification)
    return db.session.execute(statement).scalar_one_or_none()


def _answered(notification_id: int, action: str) -> bool:
    return db.session.scalar(select(PatientResponse.id).where(
        PatientResponse.dedupe_key == f"email:{notification_id}:{action}")) is not None


@blp.route("/r/<token>", methods=["GET", "POST"])
def reply_link(token):
    decoded = read_reply_token(token) if len(token) <= MAX_TOKEN_CHARS else None
    notification = _notification(decoded[0], lock=request.method == "POST") if decoded else None
    if notification is None:
        db.session.rollback()
        return _page(None, 400, lines=[text_for(None)["invalid"]])
    action, language = decoded[1], notification.patient.language
    t, words = text_for(language), _words(notification)
    appointment = notification.appointment
    if appointment.status != "booked" or appointment.starts_at <= utcnow():
        db.session.rollback()
        return _page(language, 410, lines=[t["expired"]])
    if _answered(notification.id, action):
        db.session.rollback()
        return _page(language, 409 if request.method == "POST" else 200,
                     lines=[t["appointment"].format(**words), t["already"].format(**words)])
    if request.method == "GET":
        db.session.rollback()
        return _page(language, lines=[t["greeting"].format(**words),
                                      t["appointment"].format(**words)],
                     button=t[f"{action}_button"], action=action,
                     note=t["cancel_note"].format(**words) if action == "cancel" else None)
    response = record_email_answer(notification, action, utcnow())
    db.session.commit()
    if response is None:  # lost a race with the same click
        return _page(language, 409, lines=[t["already"].format(**words)])
    return _page(language, lines=[t["appointment"].format(**words),
                                  t[f"done_{action}"].format(**words)])


@blp.route("/u/<token>", methods=["GET", "POST"])
def preferences(token):
    notification_id = read_preferences_token(token) if len(token) <= MAX_TOKEN_CHARS else None
    notification = db.session.get(Notification, notification_id) if notification_id else None
    if notification is None:
        db.session.rollback()
        return _page(None, 400, lines=[text_for(None)["invalid"]])
    patient = db.session.get(Patient, notification.patient_id, with_for_update=True)
    t, words = text_for(patient.language), _words(notification)
    lines, heading = [t["prefs_intro"].format(**words)], t["prefs_title"]
    if request.method == "POST":
        choice = request.form.get("choice")
        if choice in CHOICES:
            choose(patient, choice)
            lines.insert(0, t["saved"])
        else:  # RFC 8058: the body is List-Unsubscribe=One-Click; anything else means the same
            unsubscribe_email(patient)
            lines.insert(0, t["unsubscribed"])
        log.info("patient preferences changed", extra={
            "patient_id": patient.id, "choice": choice if choice in CHOICES else "no-email"})
    current = current_choice(patient)
    db.session.commit()
    return _page(patient.language, heading=heading, lines=lines, prefs=current)
