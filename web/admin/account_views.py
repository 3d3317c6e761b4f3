"""Staff accounts (admin only) and the read-only audit log (admin only)."""
import uuid
from typing import ClassVar

from flask_security import hash_password
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from db import AuditEntry, StaffRole, db
from db.staff import ROLES
from web.admin.access import ADMIN, GuardedModelView
from web.admin.audit import record
from web.admin.filters import utc_filters


class StaffAccountView(GuardedModelView):
    roles = ADMIN
    can_create = True
    can_edit = True
    column_list = ("email", "roles", "clinics", "active", "locked_at", "failed_logins",
                   "tf_primary_method", "last_login_at", "login_count", "created_at")
    column_labels: ClassVar[dict] = {"tf_primary_method": "Second factor"}
    column_formatters: ClassVar[dict] = {
        "clinics": lambda v, c, m, n: ("every clinic" if "admin" in m.role_names else
                                       ", ".join(sorted(m.location_external_ids)) or "none"),
    }
    column_searchable_list = ("email",)
    column_filters = ("active",)
    form_columns = ("email", "role", "locations", "active", "new_password", "unlock")
    form_extra_fields: ClassVar[dict] = {
        "role": SelectField("Role", choices=[(r, r) for r in ROLES]),
        "locations": StringField("Clinics it sees (external ids, e.g. L-1, L-2; admins see all)",
                                 validators=[Optional()]),
        "new_password": PasswordField("New password (12 characters or more)",
                                      validators=[Optional()]),
        "unlock": BooleanField("Unlock (clear wrong-password lock-out)"),
    }

    def on_form_prefill(self, form, id):
        names = self.get_one(id).role_names
        form.role.data = next((r for r in ROLES if r in names), "viewer")
        form.locations.data = ", ".join(sorted(self.get_one(id).location_external_ids))

    def on_model_change(self, form, model, is_created):
        model.email = model.email.strip().lower()
        role = db.session.scalars(select(StaffRole).where(StaffRole.name == form.role.data)
                                  ).one_or_none() or StaffRole(name=form.role.data)
        role_changed = model.role_names != {role.name}
        model.roles = [role]
        model.set_locations((form.locations.data or "").split(","))
        password = form.new_password.data
        if is_created and not password:
            raise ValidationError("A new account needs a password.")
        if password:
            if len(password) < 12:
                raise ValidationError("The password needs 12 characters or more.")
            model.password = hash_password(password)
        if form.unlock.data:
            model.locked_at, model.failed_logins = None, 0
        if is_created:
            model.fs_uniquifier = uuid.uuid4().hex
        elif password or role_changed or not model.active:
            # A new password or a deactivation signs the account out of every session.
            model.fs_uniquifier = uuid.uuid4().hex
        model.failed_logins = model.failed_logins or 0
        model.login_count = model.login_count or 0

    def after_model_change(self, form, model, is_created):
        changes = [name for name, flag in (("created", is_created),
                                           ("password", bool(form.new_password.data)),
                                           ("unlocked", form.unlock.data)) if flag]
        record("account-change", "staff_user", model.email,
               detail=", ".join(changes + [f"roles={','.join(sorted(model.role_names))}",
                                           f"locations={','.join(sorted(model.location_external_ids))}",
                                           f"active={model.active}"]))
        db.session.commit()


class AuditLogView(GuardedModelView):
    """Read-only: no create, edit or delete here, and PostgreSQL refuses them anyway."""

    roles = ADMIN
    column_list = ("at", "account", "ip", "action", "object_type", "object_id", "detail")
    column_filters = ("account", "action", "object_type", "object_id", *utc_filters(AuditEntry.at, "at"))
    column_default_sort = ("at", True)
