"""Clinic settings (admins): each location's own reminder window, days before, quiet hours
for change notices, help contact and languages; a blank field means the global setting.
Audited."""
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from actors.clinic_settings import (
    forget_clinic_settings,
    parse_languages,
    parse_quiet_hours,
    rules_by_location,
)
from db import Location, db
from db.clinic_settings import ClinicSettings
from web.admin.access import ADMIN, GuardedView
from web.admin.audit import record
from web.config import _daily_window

FIELDS = ("reminder_window", "reminder_days_before", "quiet_hours", "help_contact", "languages")
MAX_DAYS_BEFORE = 14
MAX_CONTACT_CHARS = 64


class SettingsForm(FlaskForm):
    """The CSRF token; the fields are read and checked below."""


def _clean(form) -> dict:
    """The submitted values, checked; blank is None (the global setting). ValueError says why."""
    values = {name: (form.get(name) or "").strip() or None for name in FIELDS}
    if values["reminder_window"]:
        values["reminder_window"] = _daily_window(values["reminder_window"])
    if values["reminder_days_before"]:
        days = values["reminder_days_before"]
        if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS_BEFORE:
            raise ValueError(f"days before: a whole number from 1 to {MAX_DAYS_BEFORE}")
        values["reminder_days_before"] = int(days)
    if values["quiet_hours"]:
        start, end = parse_quiet_hours(values["quiet_hours"])
        values["quiet_hours"] = f"{start:%H:%M}-{end:%H:%M}"
    contact = values["help_contact"]
    if contact and (len(contact) > MAX_CONTACT_CHARS or not contact.isprintable()):
        raise ValueError(f"help contact: one line of at most {MAX_CONTACT_CHARS} characters")
    if values["languages"]:
        values["languages"] = parse_languages(values["languages"])
    return values


class ClinicSettingsView(GuardedView):
    roles = ADMIN

    @expose("/")
    def index(self):
        locations = list(db.session.scalars(select(Location).order_by(Location.name,
                                                                       Location.external_id)))
        own = {row.location_id: row for row in db.session.scalars(select(ClinicSettings))}
        return self.render("admin/clinic_settings.html", locations=locations, own=own,
                           rules=rules_by_location([loc.id for loc in locations]),
                           form=SettingsForm())

    @expose("/<int:location_id>", methods=["POST"])
    def save(self, location_id):
        if not SettingsForm().validate_on_submit():
            abort(400)
        location = db.session.get(Location, location_id) or abort(404)
        try:
            values = _clean(request.form)
        except ValueError as error:
            flash(f"{location.name}: {error}", "error")
            return redirect(url_for(".index"))
        row = db.session.get(ClinicSettings, location.id) or ClinicSettings(
            location_id=location.id)
        before = {name: getattr(row, name) for name in FIELDS}
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by = current_user.email
        db.session.add(row)
        changed = [f"{name}: {before[name] or 'global'} -> {values[name] or 'global'}"
                   for name in FIELDS if before[name] != values[name]]
        record("clinic settings", "location", location.external_id,
               detail="; ".join(changed) or "no change")
        db.session.commit()
        forget_clinic_settings()
        flash(f"{location.name}: saved.", "success")
        return redirect(url_for(".index"))
