"""Alerts (acknowledge, resolve), sync runs and quarantined upstream records."""
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from db import Alert, QuarantinedRecord, SyncRun, db, resolve_condition, utcnow
from web.admin import scope
from web.admin.access import EVERYONE, STAFF, GuardedModelView, may_act, require_act
from web.admin.audit import record, record_now
from web.admin.filters import utc_filters

_BUTTON = Markup('<form method="post" action="{}" class="d-inline">'
                 '<input type="hidden" name="csrf_token" value="{}">'
                 '<button class="btn btn-sm btn-outline-primary" type="submit">{}</button></form>')


def _alert_actions(view, context, model, name):
    if not may_act() or model.status != "open":
        return ""
    buttons = []
    if model.acknowledged_at is None:
        buttons.append(_BUTTON.format(url_for(".acknowledge", alert_id=model.id),
                                      generate_csrf(), "acknowledge"))
    buttons.append(_BUTTON.format(url_for(".resolve", alert_id=model.id), generate_csrf(),
                                  "resolve"))
    return Markup(" ").join(buttons)


class AlertView(GuardedModelView):
    roles = EVERYONE
    column_list = ("kind", "status", "summary", "count", "first_seen_at", "last_seen_at",
                   "acknowledged_by", "acknowledged_at", "resolved_at", "actions")
    column_filters = ("status", "kind")
    column_default_sort = ("last_seen_at", True)
    column_formatters: ClassVar[dict] = {"actions": _alert_actions}

    def _locked(self, alert_id) -> Alert:
        require_act()
        return db.session.get(Alert, alert_id, with_for_update=True) or abort(404)

    @expose("/acknowledge/<int:alert_id>", methods=["POST"])
    def acknowledge(self, alert_id):
        alert = self._locked(alert_id)
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = utcnow(), current_user.email
            record("acknowledge", "alert", alert.key, detail=alert.summary)
        db.session.commit()
        flash(f"Acknowledged: {alert.summary}.", "success")
        return redirect(url_for(".index_view"))

    @expose("/resolve/<int:alert_id>", methods=["POST"])
    def resolve(self, alert_id):
        alert = self._locked(alert_id)
        if resolve_condition(alert.key):
            record("resolve", "alert", alert.key, detail=alert.summary)
        db.session.commit()
        flash(f"Resolved: {alert.summary}.", "success")
        return redirect(url_for(".index_view"))


class SyncRunView(GuardedModelView):
    roles = EVERYONE
    column_list = ("started_at", "finished_at", "complete", "trigger", "window_from",
                   "window_to", "pages", "records", "created", "changed", "unchanged",
                   "quarantined", "retries", "missing", "error_summary")
    column_filters = ("complete", "trigger", *utc_filters(SyncRun.started_at, "started"))
    column_default_sort = ("started_at", True)


class QuarantineView(GuardedModelView):
    """Records as upstream sent them: they hold patient data, so staff and admin only, and
    opening one is audited."""

    roles = STAFF
    can_view_details = True
    column_list = ("external_id", "reason", "times_seen", "created_at", "last_seen_at",
                   "resolved_at")
    column_details_list = (*column_list, "raw")

    def scope_query(self, query):
        """A record names its clinic only in the raw data upstream sent: staff see those of
        their clinics; records naming none are for admins."""
        if scope.sees_all():
            return query
        names = sorted(current_user.location_external_ids) if current_user.is_authenticated \
            else []
        return query.filter(QuarantinedRecord.raw["location"]["id"].as_string().in_(names))

    def get_one(self, id):
        return self.get_query().filter(QuarantinedRecord.id == id).one_or_none()
    column_filters = ("external_id", *utc_filters(QuarantinedRecord.last_seen_at, "last seen"))
    column_default_sort = ("last_seen_at", True)

    @expose("/details/")
    def details_view(self):
        record_id = request.args.get("id", type=int)
        found = self.get_one(record_id) if record_id is not None else None
        if found is not None:
            record_now("view", "quarantined_record", found.external_id,
                       detail="raw upstream record")
        return super().details_view()
