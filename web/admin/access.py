"""Who may open which admin page, and who may act: the role matrix (README, "Admin").

viewer: counts and statuses, never a name, phone or e-mail; staff: patients, and acts;
admin: also templates, staff accounts and the audit log.
"""
from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm

EVERYONE = ("viewer", "staff", "admin")
STAFF = ("staff", "admin")
ADMIN = ("admin",)


def has_role(*roles: str) -> bool:
    return current_user.is_authenticated and bool(current_user.role_names & set(roles))


def may_act() -> bool:
    return has_role(*STAFF)


def require_act() -> None:
    if not may_act():
        abort(403)


class Guarded:
    """Mixin for every admin view: anonymous goes to the login page, a role not allowed
    gets 403, and the menu only lists what the account may open."""

    roles: tuple[str, ...] = ADMIN

    def is_accessible(self) -> bool:
        return has_role(*self.roles)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("security.login", next=target))
        abort(403)


class GuardedView(Guarded, BaseView):
    pass


class GuardedIndexView(Guarded, AdminIndexView):
    pass


class GuardedModelView(Guarded, ModelView):
    """Read-only by default; a view opts in to what it allows."""

    form_base_class = FlaskForm  # Flask-WTF's CSRF token in every Flask-Admin form
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = False
    can_set_page_size = True
    page_size = 50
