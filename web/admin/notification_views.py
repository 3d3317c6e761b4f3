"""Notifications: filter, resend a failed one, cancel a pending one (staff and admin act,
each after a confirmation page, each written to the audit log). Viewers see statuses only."""
from datetime import date, timedelta
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import HiddenField

from actors.resend import RESENDABLE, resend, resend_count
from db import Appointment, Notification, db, transition, utcnow
from db.notifications import PENDING
from db.statuses import KINDS, STATUSES
from db.transitions import can_move
from web.admin import outcomes, scope
from web.admin.access import EVERYONE, GuardedModelView, may_act, require_act
from web.admin.audit import record
from web.admin.clinic_time import clinic_day, clinic_time
from web.admin.filters import utc_filters
from web.admin.words import channel_words, explain, kind_words, notification_words


class ConfirmForm(FlaskForm):
    # The number of resends the confirmation page saw: a double submit finds the same key.
    seen = HiddenField()


def _actions(view, context, model, name):
    if not may_act():
        return ""
    links = []
    if model.status in RESENDABLE:
        links.append(("resend", url_for(".resend", notification_id=model.id)))
    if model.status in PENDING:
        links.append(("cancel", url_for(".cancel", notification_id=model.id)))
    return Markup(" ").join(Markup('<a class="btn btn-sm btn-outline-primary" href="{}">{}</a>')
                            .format(url, label) for label, url in links)


def label(notification: Notification) -> str:
    """How staff name one notification: "Reminder by SMS for A-1001" (no database id)."""
    return (f"{kind_words(notification.kind)} by {channel_words(notification.channel)} "
            f"for {notification.appointment.external_id}")


def _zone(model):
    return model.appointment.location.timezone


def list_filter() -> dict | None:
    """Today's links: ?clinic=L-1&channel=sms&outcome=failed&day=2026-12-04, the same
    clauses Today counts with (web.admin.outcomes)."""
    args = request.args
    if not any(args.get(key) for key in ("clinic", "channel", "outcome", "day", "status",
                                         "updates")):
        return None
    wanted = {"clinic": args.get("clinic"), "channel": args.get("channel"),
              "outcome": args.get("outcome") if args.get("outcome") in outcomes.OUTCOMES
              else None, "day": None, "updates": args.get("updates") == "24h",
              "status": [s for s in args.get("status", "").split(",") if s in STATUSES],
              "kind": args.get("kind") if args.get("kind") in KINDS else None}
    try:
        wanted["day"] = date.fromisoformat(args.get("day", ""))
    except ValueError:
        pass
    return wanted


class NotificationView(GuardedModelView):
    roles = EVERYONE
    column_list = ("appointment.external_id", "appointment.location.name", "kind", "channel",
                   "status", "due_at", "attempts", "error_code", "updated_at", "actions")
    column_labels: ClassVar[dict] = {"appointment.external_id": "Appointment",
                                     "appointment.location.name": "Clinic",
                                     "status": "Status", "due_at": "Due",
                                     "error_code": "Provider said", "updated_at": "Last change"}
    column_filters = ("status", "kind", "channel", *utc_filters(Notification.due_at, "due"),
                      *utc_filters(Notification.created_at, "created"))
    column_sortable_list = ("status", "due_at", "updated_at")
    column_default_sort = ("id", True)
    column_formatters: ClassVar[dict] = {
        "actions": _actions,
        "appointment.location.name": lambda v, c, m, n: (
            f"{m.appointment.location.name} ({m.appointment.location.external_id})"),
        "kind": lambda v, c, m, n: kind_words(m.kind),
        "channel": lambda v, c, m, n: channel_words(m.channel),
        "status": lambda v, c, m, n: notification_words(m),
        "error_code": lambda v, c, m, n: explain(m.error_code),
        "due_at": lambda v, c, m, n: clinic_time(m.due_at, _zone(m)),
        "updated_at": lambda v, c, m, n: clinic_time(m.updated_at, _zone(m)),
    }
    list_template = "admin/notification_list.html"

    def scope_query(self, query):
        ids = scope.location_ids()
        wanted = list_filter()
        if ids is None and wanted is None:
            return query
        appointments = select(Appointment.id)
        if ids is not None:
            appointments = appointments.where(Appointment.location_id.in_(ids))
        if wanted:
            if wanted["clinic"]:
                location = scope.location_by_external_id(wanted["clinic"])
                appointments = appointments.where(Appointment.location_id == location.id)
                if wanted["day"]:
                    query = query.filter(outcomes.day_clause(location, wanted["day"]))
            if wanted["channel"]:
                query = query.filter(Notification.channel == wanted["channel"])
            if wanted["outcome"]:
                query = query.filter(outcomes.clause(wanted["outcome"], utcnow()))
            if wanted["status"]:
                query = query.filter(Notification.status.in_(wanted["status"]))
            if wanted["kind"]:
                query = query.filter(Notification.kind == wanted["kind"])
            if wanted["updates"]:  # Today's immediate updates: every notice of the last day
                query = query.filter(Notification.kind != "reminder",
                                     Notification.created_at >= utcnow() - timedelta(hours=24))
        return query.filter(Notification.appointment_id.in_(appointments))

    def render(self, template, **kwargs):
        wanted = list_filter()
        if wanted:
            kwargs["showing"] = " · ".join(part for part in (
                wanted["updates"] and "immediate updates of the last 24 hours",
                wanted["kind"] and kind_words(wanted["kind"]),
                ", ".join(wanted["status"]),
                wanted["outcome"] and outcomes.OUTCOMES[wanted["outcome"]],
                wanted["channel"] and channel_words(wanted["channel"]),
                wanted["clinic"], wanted["day"] and clinic_day(wanted["day"])) if part)
        return super().render(template, **kwargs)

    def _confirm(self, notification, action, form, seen=None):
        return self.render("admin/confirm_notification.html", notification=notification,
                           action=action, form=form, seen=seen)

    def _load(self, notification_id) -> Notification:
        require_act()
        notification = db.session.get(Notification, notification_id, with_for_update=True)
        if notification is None:
            abort(404)
        scope.appointment_visible(notification.appointment)
        return notification

    @expose("/resend/<int:notification_id>", methods=["GET", "POST"])
    def resend(self, notification_id):
        old = self._load(notification_id)
        form = ConfirmForm()
        if old.status not in RESENDABLE:
            db.session.rollback()
            flash(f"{label(old)} is {old.status}; only a failed one is resent.", "error")
            return redirect(url_for(".index_view"))
        if request.method == "GET" or not form.validate_on_submit():
            seen = resend_count(old)
            db.session.rollback()
            return self._confirm(old, "resend", form, seen)
        new = resend(old, int(form.seen.data or 0))
        if new is None:
            db.session.rollback()
            flash("This resend was already made.", "info")
            return redirect(url_for(".index_view"))
        record("resend", "notification", label(old), detail=f"resend {int(form.seen.data or 0) + 1}")
        db.session.commit()
        flash(f"{label(old)}: queued to resend now.", "success")
        return redirect(url_for("appointment.timeline", appointment_id=old.appointment_id))

    @expose("/cancel/<int:notification_id>", methods=["GET", "POST"])
    def cancel(self, notification_id):
        notification = self._load(notification_id)
        form = ConfirmForm()
        if not can_move(notification.status, "cancelled"):
            db.session.rollback()
            flash(f"{label(notification)} is {notification.status}; "
                  "only a pending one is cancelled.", "error")
            return redirect(url_for(".index_view"))
        if request.method == "GET" or not form.validate_on_submit():
            db.session.rollback()
            return self._confirm(notification, "cancel", form)
        transition(notification, "cancelled", source="staff", reason="cancelled by staff")
        record("cancel", "notification", label(notification))
        db.session.commit()
        flash(f"{label(notification)} cancelled.", "success")
        return redirect(url_for(".index_view"))
