"""Who may open which admin page, and who may act: the role matrix (README, "Admin").

viewer: counts and statuses, never a name, phone or e-mail; staff: patients, and acts;
admin: also templates, staff accounts and the audit log.
"""
from datetime import date, datetime
from typing import ClassVar

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_login import current_user
from flask_wtf import FlaskForm

from web.admin.clinic_time import clinic_day, clinic_time

#: Past this a list page is empty anyway; beyond it an OFFSET overflows PostgreSQL's bigint.
MAX_PAGE = 100_000
#: A name, a phone number or an e-mail address; longer is not a search staff type.
MAX_SEARCH_CHARS = 200
MAX_FILTER_CHARS = 200

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
    # Times as staff read them (web.admin.clinic_time), never "2026-12-04 20:45:00.123+00:00".
    column_type_formatters: ClassVar[dict] = {
        **typefmt.BASE_FORMATTERS,
        datetime: lambda view, value, name: clinic_time(value),
        date: lambda view, value, name: clinic_day(value)}
    column_type_formatters_detail: ClassVar[dict] = column_type_formatters

    def scope_query(self, query):
        """Views of one clinic's records narrow this to the account's clinics (web.admin.scope)."""
        return query

    def get_query(self):
        return self.scope_query(super().get_query())

    def get_count_query(self):
        return self.scope_query(super().get_count_query())

    def _get_list_extra_args(self):
        """The list's query-string parameters, bounded: a page number PostgreSQL can offset
        by, a sort column that exists, and search or filter text the database can compare
        (no NUL or other control character, no lone surrogate, a sane length)."""
        args = super()._get_list_extra_args()
        sortable = len(self._sortable_columns or ()) if hasattr(self, "_sortable_columns") else 0
        return args.clone(
            page=min(max(args.page or 0, 0), MAX_PAGE),
            page_size=args.page_size if args.page_size in self.page_size_options else 0,
            sort=args.sort if args.sort is not None and 0 <= args.sort < sortable else None,
            search=_searchable(args.search, MAX_SEARCH_CHARS),
            filters=[(index, name, value) for index, name, value in (args.filters or [])
                     if _searchable(value, MAX_FILTER_CHARS) is not None] or None)


def _searchable(text: str | None, limit: int) -> str | None:
    if not text or len(text) > limit or not text.isprintable() or any(
            "\ud800" <= c <= "\udfff" for c in text):
        return None
    return text
