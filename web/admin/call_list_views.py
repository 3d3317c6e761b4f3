"""The call list (staff and admin): per clinic and clinic-local day, the patients whose
reminder or change notice could not reach them, with the reason and their phone. Staff mark
a call made or resend; the CSV export is audited and its cells are safe to open in a
spreadsheet."""
import csv
import io
from datetime import date

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField
from wtforms.validators import DataRequired

from actors.accounting.call_list import call_list
from actors.resend import RESENDABLE
from db import Appointment, Location, Notification, db, utcnow
from db.staff import StaffCall
from web.admin import scope
from web.admin.access import STAFF, GuardedView, may_act, require_act
from web.admin.audit import record
from web.admin.clinic_time import clinic_day, clinic_time, zone_of
from web.admin.words import channel_words, kind_words

#: A spreadsheet runs a cell that starts with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("clinic", "patient", "appointment", "notice", "tried", "reason", "phone")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CalledForm(FlaskForm):
    appointment = HiddenField(validators=[DataRequired()])
    kind = HiddenField(validators=[DataRequired()])


def _day() -> date:
    try:
        return date.fromisoformat(request.args.get("day") or request.form.get("day") or "")
    except ValueError:
        return utcnow().astimezone(_zone()).date()


def _zone():
    """Today is the clinics' today: at 23:30 in Los Angeles it is already tomorrow in New
    York. The configured default zone only when the clinics shown keep different times."""
    ids = _clinic_ids()
    query = select(Location.timezone).distinct()
    if ids is not None:
        query = query.where(Location.id.in_(ids))
    zones = db.session.scalars(query.limit(2)).all()
    return zone_of(zones[0] if len(zones) == 1 else None)


def _clinic_ids():
    """The clinics asked for (?clinic=L-1), within the account's; None: every clinic."""
    wanted = request.args.get("clinic") or request.form.get("clinic")
    if wanted:
        return [scope.location_by_external_id(wanted).id]
    return scope.location_ids()


def _rows(day: date):
    calls = call_list(day, location_ids=_clinic_ids())
    ids = [call.appointment for call in calls]
    appointments = {a.external_id: a for a in db.session.scalars(
        select(Appointment).where(Appointment.external_id.in_(ids)))} if ids else {}
    called = {}
    for call in db.session.scalars(select(StaffCall).where(
            StaffCall.local_date == day,
            StaffCall.appointment_id.in_([a.id for a in appointments.values()]))):
        called[(call.appointment_id, call.kind)] = call
    rows = []
    for call in calls:
        appointment = appointments[call.appointment]
        resend = db.session.scalar(
            select(Notification.id).where(Notification.appointment_id == appointment.id,
                                          Notification.kind == call.kind,
                                          Notification.status.in_(RESENDABLE))
            .order_by(Notification.id.desc()).limit(1))
        rows.append({"call": call, "appointment": appointment, "resend": resend,
                     "called": called.get((appointment.id, call.kind))})
    return rows


class CallListView(GuardedView):
    roles = STAFF

    @expose("/")
    def index(self):
        day = _day()
        rows = _rows(day)
        return self.render("admin/call_list.html", rows=rows, day=day, day_words=clinic_day(day),
                           clinics=scope.locations(), clinic=request.args.get("clinic", ""),
                           form=CalledForm(), may_act=may_act(), clinic_time=clinic_time,
                           kind_words=kind_words, channel_words=channel_words)

    @expose("/called", methods=["POST"])
    def called(self):
        require_act()
        form = CalledForm()
        day = _day()
        if not form.validate_on_submit():
            abort(400)
        appointment = scope.appointment_visible(db.session.scalar(
            select(Appointment).where(Appointment.external_id == form.appointment.data)))
        db.session.add(StaffCall(appointment_id=appointment.id, kind=form.kind.data,
                                 local_date=day, called_by=current_user.email))
        record("called", "appointment", appointment.external_id,
               detail=f"call list {day.isoformat()}, {form.kind.data}")
        db.session.commit()
        flash(f"Marked called: {appointment.external_id}.", "success")
        return redirect(url_for(".index", day=day.isoformat(),
                                clinic=request.form.get("clinic") or None))

    @expose("/export.csv")
    def export(self):
        day = _day()
        calls = call_list(day, location_ids=_clinic_ids())
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for call in calls:
            writer.writerow([neutralise(value) for value in (
                call.location, call.patient, call.appointment, kind_words(call.kind),
                call.channels, call.reason, call.phone)])
        record("export", "call_list", request.args.get("clinic") or "all clinics",
               detail=f"{day.isoformat()}, {len(calls)} rows")
        db.session.commit()
        return Response(out.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="call-list-{day.isoformat()}.csv"',
            "Cache-Control": "no-store"})
