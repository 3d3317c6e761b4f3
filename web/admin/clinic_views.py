"""Appointments (search, timeline) and patients (contact details, consent): staff and admin.

Every page showing one patient's details writes an audit entry.
"""
import re
from typing import ClassVar

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from db import (
    Appointment,
    ConsentChange,
    Notification,
    OutboundWebhook,
    Patient,
    PatientResponse,
    db,
    record_consent,
)
from web.admin import reminder_status, scope
from web.admin.access import STAFF, GuardedModelView, may_act, require_act
from web.admin.audit import record, record_now
from web.admin.clinic_time import clinic_day, clinic_time, relative
from web.admin.words import appointment_status_words

PHONE_LIKE = re.compile(r"^[\d\s+().-]{7,}$")


class PhoneSearch:
    """Staff type phone numbers as they hear them: "(312) 555-0100" finds +13125550100."""

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if PHONE_LIKE.match(search.strip()):
            search = re.sub(r"\D", "", search)
        return super()._apply_search(query, count_query, joins, count_joins, search)


def _patient_name(view, context, model, name):
    patient = model if isinstance(model, Patient) else model.patient
    return f"{patient.given_name} {patient.family_name}"


class MissingFromSource(BaseSQLAFilter):
    """Appointments the last complete upstream pull did not return: their reminders are held
    back until upstream lists them again, and staff may want to check with the clinic."""

    def __init__(self):
        super().__init__(Appointment.missing_from_source_at, "Missing from source",
                         options=(("yes", "Yes"), ("no", "No")))

    def apply(self, query, value, alias=None):
        column = Appointment.missing_from_source_at
        return query.filter(column.is_not(None) if value == "yes" else column.is_(None))

    def operation(self):
        return "is"


def _link(endpoint, text, **values):
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)


class AppointmentView(PhoneSearch, GuardedModelView):
    roles = STAFF
    column_list = ("external_id", "patient", "patient.phone", "starts_at", "local_date",
                   "location", "status", "reminders", "missing_from_source_at")
    column_labels: ClassVar[dict] = {"patient.phone": "Phone", "external_id": "Appointment",
                                     "starts_at": "When", "local_date": "Day",
                                     "location": "Clinic", "reminders": "Latest notifications",
                                     "missing_from_source_at": "Missing from source since"}
    column_searchable_list = ("external_id", "patient.given_name", "patient.family_name",
                              "patient.phone", "patient.external_id")
    column_filters = ("local_date", "location.name", "status", MissingFromSource())
    column_default_sort = ("starts_at", True)
    column_formatters: ClassVar[dict] = {
        "patient": _patient_name,
        "location": lambda v, c, m, n: f"{m.location.name} ({m.location.external_id})",
        "external_id": lambda v, c, m, n: _link(".timeline", m.external_id, appointment_id=m.id),
        "starts_at": lambda v, c, m, n: f"{clinic_time(m.starts_at, m.location.timezone)} "
                                        f"({relative(m.starts_at)})",
        "local_date": lambda v, c, m, n: clinic_day(m.local_date),
        "status": lambda v, c, m, n: appointment_status_words(m.status),
        "missing_from_source_at": lambda v, c, m, n: clinic_time(m.missing_from_source_at,
                                                                 m.location.timezone),
        "reminders": reminder_status.appointment_status,
    }

    def scope_query(self, query):
        ids = scope.location_ids()
        return query if ids is None else query.filter(Appointment.location_id.in_(ids))

    @expose("/timeline/<int:appointment_id>")
    def timeline(self, appointment_id):
        appointment = scope.appointment_visible(db.session.get(Appointment, appointment_id))
        notifications = db.session.scalars(
            select(Notification).where(Notification.appointment_id == appointment.id)
            .order_by(Notification.id)).all()
        events = sorted(((event.at, notification, event) for notification in notifications
                         for event in notification.events), key=lambda item: (item[0], item[2].id))
        answers = db.session.execute(  # the patient's C / X and e-mail links (actors.replies)
            select(PatientResponse, OutboundWebhook.status)
            .outerjoin(OutboundWebhook, OutboundWebhook.response_id == PatientResponse.id)
            .where(PatientResponse.appointment_id == appointment.id)
            .order_by(PatientResponse.received_at)).all()
        record_now("view", "appointment", appointment.external_id,
                   detail=f"timeline; patient {appointment.patient.external_id}")
        return self.render("admin/appointment.html", appointment=appointment,
                           patient=appointment.patient, notifications=notifications,
                           events=events, answers=answers, may_act=may_act(),
                           coming=reminder_status.coming(appointment, notifications),
                           changes=reminder_status.changes(appointment),
                           change_lines=reminder_status.change_lines,
                           event_words=reminder_status.event_words,
                           zone=appointment.location.timezone)


class ConsentForm(FlaskForm):
    channel = SelectField("Channel", choices=[("sms", "SMS"), ("email", "E-mail")])
    decision = RadioField("Decision", choices=[("opt-out", "Opt out (stop messages)"),
                                               ("opt-in", "Opt in (messages again)")],
                          validators=[DataRequired()])
    reason = StringField("Reason (as the patient said it on the phone)",
                         validators=[DataRequired(), Length(max=200)])


class PatientView(PhoneSearch, GuardedModelView):
    roles = STAFF
    column_list = ("external_id", "given_name", "family_name", "phone", "email",
                   "preferred_channel", "language", "reminders", "sms_opted_out",
                   "email_opted_out")
    column_labels: ClassVar[dict] = {"external_id": "Patient",
                                     "reminders": "Latest notifications"}
    column_searchable_list = ("external_id", "given_name", "family_name", "phone", "email")
    column_filters = ("preferred_channel", "sms_opted_out", "email_opted_out")
    column_formatters: ClassVar[dict] = {
        "external_id": lambda v, c, m, n: _link(".patient", m.external_id, patient_id=m.id),
        "reminders": reminder_status.patient_status,
    }

    def scope_query(self, query):
        ids = scope.location_ids()
        return query if ids is None else query.filter(scope.patient_clause(Patient.id, ids))

    def _show(self, patient, form):
        consent = db.session.scalars(select(ConsentChange)
                                     .where(ConsentChange.patient_id == patient.id)
                                     .order_by(ConsentChange.at.desc(), ConsentChange.id.desc())
                                     ).all()
        appointments = db.session.scalars(select(Appointment)
                                          .where(Appointment.patient_id == patient.id)
                                          .order_by(Appointment.starts_at.desc())).all()
        ids = scope.location_ids()
        if ids is not None:  # their appointments at other clinics are not this account's
            appointments = [a for a in appointments if a.location_id in ids]
        record_now("view", "patient", patient.external_id, detail="contact details and consent")
        return self.render("admin/patient.html", patient=patient, consent=consent,
                           appointments=appointments, form=form, may_act=may_act())

    @expose("/<int:patient_id>")
    def patient(self, patient_id):
        patient = scope.patient_visible(db.session.get(Patient, patient_id))
        return self._show(patient, ConsentForm())

    @expose("/<int:patient_id>/consent", methods=["POST"])
    def consent(self, patient_id):
        require_act()
        patient = scope.patient_visible(db.session.get(Patient, patient_id, with_for_update=True))
        form = ConsentForm()
        if not form.validate_on_submit():
            db.session.rollback()
            return self._show(patient, form), 422
        opted_out = form.decision.data == "opt-out"
        record_consent(patient, form.channel.data, opted_out=opted_out, source="staff",
                       reason=form.reason.data, recorded_by=current_user.email)
        record("consent", "patient", patient.external_id,
               detail=f"{form.channel.data} {'opted out' if opted_out else 'opted in'} by phone")
        db.session.commit()
        flash(f"Recorded: {form.channel.data} {form.decision.data}.", "success")
        return redirect(url_for(".patient", patient_id=patient.id))
