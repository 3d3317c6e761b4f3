"""Pauses: the admin's switch for ``flask --app web pause|resume`` (web/cli_pause.py).

On-call may not have a shell at hand when a clinic's template is wrong or a provider
misbehaves. Staff may read what is paused (it names clinics and channels, never a patient);
only admins pause or resume, each by a CSRF-checked POST, with the same domain functions
(db/pauses.py) and the same audit entries as the command, in the same transaction.

The page's template lives here rather than in templates/: it is one small form and table,
and keeping the feature in one file keeps it out of the admin templates' own changes.
"""
from flask import abort, flash, redirect, render_template_string, request, url_for
from flask_admin import babel, expose, helpers
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from db import db
from db.clinic import Location
from db.pauses import active, find_location, pause, resume
from db.statuses import Channel
from web.admin.access import ADMIN, STAFF, GuardedView, has_role
from web.admin.audit import record

PAGE = """{% extends admin_base_template %}
{% block body %}
<h1 class="h3">Paused sending</h1>
<p>A paused clinic's or channel's due reminders stay planned and queued messages wait; on
resume, what is still inside its window goes out, the rest expires (and on-call hears).
Alert e-mails to on-call are never paused.</p>
{% if pauses %}
<table class="table table-sm" id="pauses">
  <thead><tr><th>Paused</th><th>Since</th><th>By</th><th>Reason</th>{% if may_switch %}<th></th>{% endif %}</tr></thead>
  <tbody>
  {% for row, target in pauses %}
    <tr><td>{{ row.target }}</td><td>{{ row.paused_at.strftime('%Y-%m-%d %H:%M UTC') }}</td>
      <td>{{ row.paused_by }}</td><td>{{ row.reason }}</td>
      {% if may_switch %}<td><form method="post" action="{{ url_for('.resume') }}">
        {{ resume_form.csrf_token }}<input type="hidden" name="target" value="{{ target }}">
        <button class="btn btn-sm btn-warning" type="submit">Resume</button></form></td>{% endif %}</tr>
  {% endfor %}
  </tbody>
</table>
{% else %}
<p id="pauses">Nothing is paused.</p>
{% endif %}
{% if may_switch %}
<h2 class="h5">Pause</h2>
<form method="post" action="{{ url_for('.pause') }}" id="pause-form" class="form-inline">
  {{ pause_form.csrf_token }}
  <label class="mr-2" for="target">What</label>{{ pause_form.target(class_="form-control mr-2") }}
  <label class="mr-2" for="reason">Why (no patient data)</label>
  {{ pause_form.reason(class_="form-control mr-2", size=40, maxlength=200) }}
  <button class="btn btn-danger" type="submit">Pause</button>
</form>
{% endif %}
{% endblock %}
"""


class PauseForm(FlaskForm):
    target = SelectField("What", validators=[DataRequired()])
    reason = StringField("Why", validators=[DataRequired(), Length(max=200)])


class ResumeForm(FlaskForm):
    target = HiddenField(validators=[DataRequired()])


def _targets() -> list[tuple[str, str]]:
    """Every pausable target as (form value, label): each channel, then each clinic."""
    channels = [(f"channel:{c.value}", f"Channel {c.value} (every clinic)") for c in Channel]
    locations = db.session.execute(select(Location.external_id, Location.name)
                                   .order_by(Location.name)).all()
    return channels + [(f"clinic:{external_id}", f"Clinic {name} ({external_id})")
                       for external_id, name in locations]


def _resolve(value: str):
    """(location, channel, audit object type, audit object id), or None if unknown."""
    kind, _, name = (value or "").partition(":")
    if kind == "channel" and name in tuple(Channel):
        return None, name, "channel", name
    if kind == "clinic":
        location = find_location(name)
        if location is not None:
            return location, None, "location", location.external_id
    return None


def _form_value(row) -> str:
    return f"clinic:{row.location.external_id}" if row.location_id else f"channel:{row.channel}"


class PauseView(GuardedView):
    roles = STAFF

    def _render(self, **kwargs):
        # What BaseView.render gives a template, for a template held in this module.
        kwargs.update(admin_view=self, admin_base_template=self.admin.theme.base_template,
                      admin_csp_nonce_attribute=Markup(
                          f'nonce="{self.admin.csp_nonce_generator()}"')
                      if self.admin.csp_nonce_generator else "",
                      _gettext=babel.gettext, _ngettext=babel.ngettext, h=helpers,
                      get_url=self.get_url, theme=self.admin.theme, **self._template_args)
        return render_template_string(PAGE, **kwargs)

    @expose("/")
    def index(self):
        form = PauseForm()
        form.target.choices = _targets()
        return self._render(pauses=[(row, _form_value(row)) for row in active()],
                            may_switch=has_role(*ADMIN), pause_form=form,
                            resume_form=ResumeForm())

    @expose("/pause", methods=["POST"])
    def pause(self):
        self._require_admin()
        form = PauseForm(request.form)
        form.target.choices = _targets()
        resolved = _resolve(form.target.data) if form.validate_on_submit() else None
        if resolved is None:
            flash("Choose a clinic or a channel and say why.", "error")
            return redirect(url_for(".index"))
        location, channel, kind, name = resolved
        reason = form.reason.data.strip()
        if pause(location=location, channel=channel, reason=reason,
                 by=current_user.email) is None:
            db.session.rollback()
            flash(f"{kind} {name} is paused already.", "info")
            return redirect(url_for(".index"))
        record("send-paused", kind, name, detail=reason)
        db.session.commit()
        flash(f"Paused {kind} {name}.", "success")
        return redirect(url_for(".index"))

    @expose("/resume", methods=["POST"])
    def resume(self):
        self._require_admin()
        form = ResumeForm(request.form)
        resolved = _resolve(form.target.data) if form.validate_on_submit() else None
        if resolved is None:
            flash("Choose what to resume.", "error")
            return redirect(url_for(".index"))
        location, channel, kind, name = resolved
        row = resume(location=location, channel=channel)
        if row is None:
            db.session.rollback()
            flash(f"{kind} {name} is not paused.", "info")
            return redirect(url_for(".index"))
        record("send-resumed", kind, name,
               detail=f"paused since {row.paused_at:%Y-%m-%d %H:%M UTC} by {row.paused_by}")
        db.session.commit()
        flash(f"Resumed {kind} {name}.", "success")
        return redirect(url_for(".index"))

    @staticmethod
    def _require_admin():
        if not has_role(*ADMIN):
            abort(403)
