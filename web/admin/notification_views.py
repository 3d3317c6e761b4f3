"""Notifications: filter, resend a failed one, cancel a pending one (staff and admin act,
each after a confirmation page, each written to the audit log). Viewers see statuses only."""
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField

from actors.resend import RESENDABLE, resend, resend_count
from db import Notification, db, transition
from db.notifications import PENDING
from db.transitions import can_move
from web.admin.access import EVERYONE, GuardedModelView, may_act, require_act
from web.admin.audit import record
from web.admin.filters import utc_filters


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


class NotificationView(GuardedModelView):
    roles = EVERYONE
    column_list = ("id", "appointment.external_id", "kind", "channel", "status", "due_at",
                   "attempts", "error_code", "reason", "updated_at", "actions")
    column_labels: ClassVar[dict] = {"appointment.external_id": "Appointment"}
    column_filters = ("status", "kind", "channel", *utc_filters(Notification.due_at, "due"),
                      *utc_filters(Notification.created_at, "created"))
    column_sortable_list = ("id", "status", "due_at", "updated_at")
    column_default_sort = ("id", True)
    column_formatters: ClassVar[dict] = {"actions": _actions}

    def _confirm(self, notification, action, form, seen=None):
        return self.render("admin/confirm_notification.html", notification=notification,
                           action=action, form=form, seen=seen)

    def _load(self, notification_id) -> Notification:
        require_act()
        return db.session.get(Notification, notification_id, with_for_update=True) or abort(404)

    @expose("/resend/<int:notification_id>", methods=["GET", "POST"])
    def resend(self, notification_id):
        old = self._load(notification_id)
        form = ConfirmForm()
        if old.status not in RESENDABLE:
            db.session.rollback()
            flash(f"Notification {old.id} is {old.status}; only a failed one is resent.", "error")
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
        record("resend", "notification", old.id, detail=f"new notification {new.id}")
        db.session.commit()
        flash(f"Notification {new.id} queued to resend {old.id}.", "success")
        return redirect(url_for("appointment.timeline", appointment_id=old.appointment_id))

    @expose("/cancel/<int:notification_id>", methods=["GET", "POST"])
    def cancel(self, notification_id):
        notification = self._load(notification_id)
        form = ConfirmForm()
        if not can_move(notification.status, "cancelled"):
            db.session.rollback()
            flash(f"Notification {notification.id} is {notification.status}; "
                  "only a pending one is cancelled.", "error")
            return redirect(url_for(".index_view"))
        if request.method == "GET" or not form.validate_on_submit():
            db.session.rollback()
            return self._confirm(notification, "cancel", form)
        transition(notification, "cancelled", source="staff", reason="cancelled by staff")
        record("cancel", "notification", notification.id)
        db.session.commit()
        flash(f"Notification {notification.id} cancelled.", "success")
        return redirect(url_for(".index_view"))
