"""The audit log: who saw a patient's details or acted, when, from which address, on what.

Entries hold ids, statuses and short descriptions, never contact details. They join the
caller's transaction, so an action and its audit entry commit (or roll back) together.
"""
from flask import has_request_context, request
from flask_login import current_user

from db import AuditEntry, db


def record(action: str, object_type: str | None = None, object_id=None, *,
           detail: str | None = None, account: str | None = None) -> AuditEntry:
    if account is None and has_request_context() and current_user.is_authenticated:
        account = current_user.email
    entry = AuditEntry(action=action, object_type=object_type,
                       object_id=None if object_id is None else str(object_id),
                       detail=detail, account=account,
                       ip=request.remote_addr if has_request_context() else None)
    db.session.add(entry)
    return entry


def record_now(action: str, object_type: str | None = None, object_id=None, **kwargs) -> None:
    """Audit a read (a page showing a patient's details) and commit it at once."""
    record(action, object_type, object_id, **kwargs)
    db.session.commit()
