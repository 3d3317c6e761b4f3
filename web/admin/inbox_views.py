"""The staff inbox: SMS replies no appointment could be matched to, or that were not C or X.

Each entry belongs to one clinic (the location of the number's latest appointment), and the
list is read one clinic at a time, among the clinics the account may see (web.admin.scope):
an entry of another clinic never shows, and handling it by its URL is a 404. Replies from a
number no patient has belong to no clinic: only admins see those. Reading the list shows
patients' own words, so it is audited, like marking an entry handled. Staff and admin only.
"""
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from db import PatientResponse, db, utcnow
from web.admin import scope
from web.admin.access import STAFF, GuardedModelView, may_act, require_act
from web.admin.audit import record, record_now

#: ?clinic= of the replies from numbers no patient has (admins only).
UNKNOWN_NUMBERS = 0

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
        """The clinic being read: ?clinic=<location id> if the account may see it, else the
        account's first clinic with open entries, else its first clinic; None (replies of
        unknown numbers) for an admin who asks for none."""
        ids = scope.location_ids()
        chosen = request.args.get("clinic", type=int)
        if chosen == UNKNOWN_NUMBERS and ids is None:
            return None
        if chosen is not None and (ids is None or chosen in ids):
            return chosen
        waiting = select(PatientResponse.location_id).where(
            PatientResponse.needs_staff, PatientResponse.handled_at.is_(None),
            PatientResponse.location_id.is_not(None))
        if ids is not None:
            waiting = waiting.where(PatientResponse.location_id.in_(ids))
        first = db.session.scalar(waiting.order_by(PatientResponse.received_at).limit(1))
        if first is not None or ids is None:
            return first
        return ids[0] if ids else -1  # an account without clinics reads an empty inbox

    def scope_query(self, query):
        clinic = self._clinic()
        query = query.filter(PatientResponse.needs_staff)
        return query.filter(PatientResponse.location_id.is_(None) if clinic is None
                            else PatientResponse.location_id == clinic)

    @expose("/")
    def index_view(self):
        clinic = self._clinic()
        record_now("view", "inbox", clinic, detail="staff inbox of a clinic")
        self._template_args["clinics"] = [(location.id, location.name)
                                          for location in scope.locations()]
        self._template_args["clinic"] = clinic
        self._template_args["unknown_numbers"] = UNKNOWN_NUMBERS if scope.sees_all() else None
        return super().index_view()

    @expose("/handle/<int:response_id>", methods=["POST"])
    def handle(self, response_id):
        require_act()
        entry = db.session.get(PatientResponse, response_id, with_for_update=True)
        ids = scope.location_ids()
        if entry is None or not entry.needs_staff or (
                ids is not None and entry.location_id not in ids):
            abort(404)  # another clinic's entry is no business of this account
        if entry.handled_at is None:
            entry.handled_at, entry.handled_by = utcnow(), current_user.email
            record("inbox-handled", "patient_response", entry.id,
                   detail=f"clinic {entry.location_id}")
        db.session.commit()
        flash(f"Reply {entry.id} marked handled.", "success")
        return redirect(url_for(".index_view", clinic=entry.location_id))
