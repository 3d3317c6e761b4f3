"""Brute force against staff logins: Flask-Limiter throttles attempts per client address and
per account (429 with Retry-After), and a lock-out after repeated wrong passwords expires
by itself, each lock in a row twice as long as the last, so an outsider who knows a staff
e-mail address can delay that account but never lock it out for good.

Counters live in the deployment's Redis when REDIS_URL is set (shared by every web process),
else in each process's memory.
"""
from datetime import timedelta

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy import func, select

from db import StaffUser, db, utcnow

#: Flask-Security's views that check a secret someone could guess.
GUESSABLE = ("security.login", "security.two_factor_token_validation")


def _account() -> str:
    # The account being tried, as typed; a body that is not a form falls back to the address.
    email = (request.form.get("email") or "").strip().lower()[:320]
    return f"account:{email}" if email else f"address:{get_remote_address()}"


def lock_duration(failed_logins: int, config) -> timedelta:
    """How long the lock that ``failed_logins`` wrong passwords in a row earned lasts."""
    locks = max(failed_logins // config["ADMIN_LOCKOUT_ATTEMPTS"], 1)
    minutes = config["ADMIN_LOCKOUT_MINUTES"] * 2 ** min(locks - 1, 20)
    return timedelta(minutes=min(minutes, config["ADMIN_LOCKOUT_MAX_MINUTES"]))


def locks_now(user, config) -> bool:
    """Whether the failure just counted starts a new lock (every ADMIN_LOCKOUT_ATTEMPTS)."""
    attempts = config["ADMIN_LOCKOUT_ATTEMPTS"]
    return user.locked_at is None and user.failed_logins >= attempts and (
        user.failed_logins % attempts == 0)


def _expire_lock() -> None:
    """Before a login attempt: a lock whose time is up is lifted (the count stays, so the
    next lock lasts longer); the right password then gets in, no admin needed."""
    if request.method != "POST" or request.endpoint != "security.login":
        return
    email = (request.form.get("email") or "").strip().lower()
    if not email or len(email) > 320 or not email.isprintable():
        return
    user = db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)
                              ).one_or_none()
    if user is not None and user.locked_at is not None and (
            utcnow() >= user.locked_at + lock_duration(user.failed_logins, current_app.config)):
        user.locked_at = None
        db.session.commit()


def init_app(app) -> Limiter:
    limiter = Limiter(key_func=get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config["REDIS_URL"] or "memory://",
                      strategy="moving-window")
    per_address = limiter.limit(app.config["LOGIN_RATE_PER_ADDRESS"], methods=["POST"],
                                key_func=get_remote_address, scope="login-address")
    per_account = limiter.limit(app.config["LOGIN_RATE_PER_ACCOUNT"], methods=["POST"],
                                key_func=_account, scope="login-account")
    for endpoint in GUESSABLE:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = per_address(per_account(app.view_functions[endpoint]))
    app.before_request(_expire_lock)
    return limiter
