"""The staff inbox: SMS replies no appointment could be matched to, or that were not C or X.

Each entry belongs to one clinic (the location of the number's latest appointment), and the
list is read one clinic at a time: the clinic filter is always applied, so an entry of
another clinic never shows. Reading the list shows patients' own words, so it is audited,
like marking an entry handled. Staff and admin only.
"""
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from db import Location, PatientResponse, db, utcnow
from web.admin.access import STAFF, GuardedModelView, may_act, require_act
from web.admin.audit import record, record_now

_BUTTON = Markup('<form method="post" action="{}" class="d-inline">'
                 '<input type="hidden" name="csrf_token" value="{}">'
                 '<button class="btn btn-sm btn-outline-primary" type="submit">{}</button></form>')


def _actions(view, context, model, name):
    if not may_act() or model.handled_at is not None:
        return ""
    return _BUTTON.format(url_for(".handle", response_id=model.id, clinic=model.location_id),
                          generate_csrf(), "mark handled")


def _patient(view, context, model, name):
    if model.patient is None:
        return "unknown number"
    return Markup('<a href="{}">{} {}</a>').format(
        url_for("patient.patient", patient_id=model.patient_id), model.patient.given_name,
        model.patient.family_name)


class InboxView(GuardedModelView):
    roles = STAFF
    list_template = "admin/inbox_list.html"
    column_list = ("received_at", "location", "patient", "kind", "raw_text", "handled_at",
                   "handled_by", "actions")
    column_labels: ClassVar[dict] = {"location": "Clinic", "raw_text": "Reply",
                                     "kind": "Read as"}
    column_default_sort = ("received_at", True)
    column_sortable_list = ("received_at", "handled_at")
    column_formatters: ClassVar[dict] = {
        "location": lambda v, c, m, n: m.location.name if m.location else "no clinic known",
        "patient": _patient, "actions": _actions,
    }

    def _clinic(self) -> int | None:
        """The clinic being read: ?clinic=<location id>, else the first with open entries."""
        chosen = request.args.get("clinic", type=int)
        if chosen is not None:
            return chosen
        return db.session.scalar(
            select(PatientResponse.location_id).where(PatientResponse.needs_staff,
                                                      PatientResponse.handled_at.is_(None))
            .order_by(PatientResponse.received_at).limit(1))

    def _scoped(self, query):
        clinic = self._clinic()
        query = query.filter(PatientResponse.needs_staff)
        return query.filter(PatientResponse.location_id.is_(None) if clinic is None
                            else PatientResponse.location_id == clinic)

    def get_query(self):
        return self._scoped(super().get_query())

    def get_count_query(self):
        return self._scoped(super().get_count_query())

    @expose("/")
    def index_view(self):
        clinic = self._clinic()
        record_now("view", "inbox", clinic, detail="staff inbox of a clinic")
        self._template_args["clinics"] = db.session.execute(
            select(Location.id, Location.name).order_by(Location.name)).all()
        self._template_args["clinic"] = clinic
        return super().index_view()

    @expose("/handle/<int:response_id>", methods=["POST"])
    def handle(self, response_id):
        require_act()
        entry = db.session.get(PatientResponse, response_id, with_for_update=True)
        if entry is None or not entry.needs_staff:
            abort(404)
        if entry.handled_at is None:
            entry.handled_at, entry.handled_by = utcnow(), current_user.email
            record("inbox-handled", "patient_response", entry.id,
                   detail=f"clinic {entry.location_id}")
        db.session.commit()
        flash(f"Reply {entry.id} marked handled.", "success")
        return redirect(url_for(".index_view", clinic=entry.location_id))
