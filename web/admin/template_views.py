"""Message templates (admin only): edit with a preview on sample data and the SMS segment
count; every save is a new version, and the newest version is what patients receive."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import Environment, PackageLoader, TemplateError
from sqlalchemy import func, select
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from actors.rendering import compile_source, forget_stored_templates
from actors.segments import segment_count
from db import TemplateVersion, db, latest_template
from web.admin.access import ADMIN, GuardedView
from web.admin.audit import record

#: What templates may use (actors.rendering.context_for), with made-up values.
SAMPLE = {"first_name": "Ada", "clinic": "Main St Clinic", "address": "1 Main St, Springfield",
          "clinic_phone": "+1 312-555-0123", "date": "Tue 1 Dec", "time": "2:30 PM",
          "cancelled": False}
_files = PackageLoader("actors", "templates")


class TemplateForm(FlaskForm):
    body = TextAreaField("Template", validators=[DataRequired()])


def names() -> list[str]:
    return sorted(_files.list_templates())


def file_source(name: str) -> str:
    return _files.get_source(Environment(), name)[0]


def preview(name: str, source: str) -> dict:
    """The text a sample patient would get, or the error that keeps it from rendering."""
    try:
        text = compile_source(name, source).render(SAMPLE)
    except TemplateError as error:
        return {"error": f"{type(error).__name__}: {error}"}
    if ".sms." in name:
        text = " ".join(text.split())
        return {"text": text, "segments": segment_count(text), "characters": len(text)}
    return {"text": text}


class TemplateView(GuardedView):
    roles = ADMIN

    @expose("/")
    def index(self):
        rows = []
        for name in names():
            stored = latest_template(name)
            rows.append((name, stored.version if stored else None,
                         stored.created_by if stored else None))
        return self.render("admin/templates_list.html", rows=rows)

    @expose("/edit/<template>", methods=["GET", "POST"])
    def edit(self, template):
        name = template
        if name not in names():
            abort(404)
        stored = latest_template(name)
        form = TemplateForm()
        if request.method == "GET":
            form.body.data = stored.body if stored else file_source(name)
        result = preview(name, form.body.data or "")
        if request.method == "POST" and form.validate_on_submit() and "save" in request.form:
            if "error" in result:
                flash("Not saved: the template does not render.", "error")
            else:
                version = (db.session.scalar(select(func.max(TemplateVersion.version))
                                             .where(TemplateVersion.name == name)) or 0) + 1
                db.session.add(TemplateVersion(name=name, version=version, body=form.body.data,
                                               created_by=current_user.email))
                record("template-save", "template", name, detail=f"version {version}")
                db.session.commit()
                forget_stored_templates()
                flash(f"{name}: version {version} saved; every worker uses it within "
                      f"{current_app.config['TEMPLATE_CACHE_SECONDS']:g} s.", "success")
                return redirect(url_for(".edit", template=name))
        history = db.session.scalars(select(TemplateVersion).where(TemplateVersion.name == name)
                                     .order_by(TemplateVersion.version.desc())).all()
        return self.render("admin/template_edit.html", name=name, form=form, preview=result,
                           history=history, sample=SAMPLE)
