"""Staff accounts and the browser's protections: Flask-Security-Too (login, argon2 hashes,
roles, optional authenticator-app second factor), Flask-WTF CSRF, lock-out, Talisman headers.
"""
import logging

from flask import current_app, request
from flask_security import (
    Security,
    SQLAlchemyUserDatastore,
    user_authenticated,
    user_failed_authn,
)
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from db import StaffRole, StaffUser, db, utcnow
from db.staff import ROLES
from web.admin import throttle
from web.admin.audit import record
from web.config import DEV_PASSWORD_SALT, DEV_SECRET_KEY, ConfigError
from web.rotation import rotation_settings

log = logging.getLogger(__name__)

#: Machine-to-machine endpoints authenticate by signature, not by session: no CSRF token.
#: The patients' pages (/r/, /u/) are opened from an e-mail, without a session; their signed
#: token is the capability, and RFC 8058's one-click POST comes from the mail provider.
CSRF_EXEMPT_PREFIXES = ("/api/", "/r/", "/u/")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

CSP = {
    "default-src": "'self'",
    # Scripts by nonce; the one inline handler Flask-Admin's filter menu carries
    # (onclick="return false;") is allowed by its hash alone.
    "script-src": ["'self'", "'unsafe-hashes'", "'sha256-2rvfFrggTCtyF5WOiTri1gDS8Boibj4Njn0e+VCBmDI='"],
    # Flask-Admin's Bootstrap markup carries style attributes; scripts stay nonce-only.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],  # the authenticator QR code is a data: URI
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def check_production_secrets(config) -> None:
    """With BROKER_URL set this is production: the dev defaults would let anyone forge a
    staff session, so refuse to start."""
    if not config.get("BROKER_URL"):
        return
    if config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise ConfigError("SECRET_KEY: set a random secret; the dev default is refused "
                          "when BROKER_URL is set")
    if config["SECURITY_PASSWORD_SALT"] == DEV_PASSWORD_SALT:
        raise ConfigError("SECURITY_PASSWORD_SALT: set a random salt; the dev default is "
                          "refused when BROKER_URL is set")


def _settings(config) -> dict:
    https = config["PUBLIC_BASE_URL"].lower().startswith("https://")
    return {
        "SECURITY_PASSWORD_HASH": "argon2",
        "SECURITY_PASSWORD_LENGTH_MIN": 12,
        "SECURITY_URL_PREFIX": "/auth",
        "SECURITY_POST_LOGIN_VIEW": "/admin/",
        "SECURITY_POST_LOGOUT_VIEW": "/auth/login",
        "SECURITY_RETURN_GENERIC_RESPONSES": True,  # no "no such user" hints
        "SECURITY_TRACKABLE": True,
        "SECURITY_CHANGEABLE": True,
        "SECURITY_SEND_PASSWORD_CHANGE_EMAIL": False,
        "SECURITY_REGISTERABLE": False,
        "SECURITY_RECOVERABLE": False,
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_REQUIRED": False,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TWO_FACTOR_RESCUE_EMAIL": False,
        "SECURITY_TOTP_ISSUER": "patient-notifier",
        "SECURITY_LOGIN_USER_TEMPLATE": "admin/login.html",  # styled, with the product's name
        # Our own `users create` (roles, exit codes) replaces Flask-Security's CLI.
        "SECURITY_CLI_USERS_NAME": False,
        "SECURITY_CLI_ROLES_NAME": False,
        # CSRF is checked for every unsafe request but /api/* in _protect below.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "SESSION_PROTECTION": "strong",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
    }


def _on_failed_login(app, user=None, auth_type=None, tfa=False, **_):
    """Count wrong passwords in a row; each ADMIN_LOCKOUT_ATTEMPTS of them lock the account
    for a while (web.admin.throttle: longer each time; an admin can unlock sooner)."""
    if user is None:
        return
    user.failed_logins = (user.failed_logins or 0) + 1
    locked_now = throttle.locks_now(user, current_app.config)
    if locked_now:
        user.locked_at = utcnow()
    record("login-failed", "staff_user", user.id, account=user.email,
           detail=f"{auth_type}; {user.failed_logins} in a row" + ("; locked" if locked_now else ""))
    db.session.commit()
    if locked_now:
        log.warning("staff account locked", extra={"staff_user_id": user.id})


def _on_login(app, user=None, **_):
    user.failed_logins = 0
    record("login", "staff_user", user.id, account=user.email)
    db.session.commit()


user_failed_authn.connect(_on_failed_login, weak=False)
user_authenticated.connect(_on_login, weak=False)


def datastore() -> SQLAlchemyUserDatastore:
    return current_app.extensions["security"].datastore


def ensure_roles(store: SQLAlchemyUserDatastore) -> None:
    for name in ROLES:
        store.find_or_create_role(name=name)


def init_app(app) -> None:
    check_production_secrets(app.config)
    for key, value in _settings(app.config).items():
        # Flask's own keys always exist, so they are set outright; the rest leave room for
        # a test's override.
        if key.startswith(("SESSION_", "REMEMBER_")):
            app.config[key] = value
        else:
            app.config.setdefault(key, value)
    # Set outright: both keys exist already (Flask's, and ours from web/config.py).
    app.config.update(rotation_settings(app.config))

    csrf = CSRFProtect(app)

    @app.before_request
    def _protect():
        if request.method in UNSAFE_METHODS and not request.path.startswith(CSRF_EXEMPT_PREFIXES):
            csrf.protect()

    store = SQLAlchemyUserDatastore(db, StaffUser, StaffRole)
    Security().init_app(app, store, datetime_factory=utcnow)
    throttle.init_app(app)  # after Security: it wraps the login view

    https = app.config["SESSION_COOKIE_SECURE"]
    Talisman(app, force_https=False,  # TLS ends at the ingress; HSTS tells browsers to stay
             strict_transport_security=https, session_cookie_secure=https,
             session_cookie_http_only=True, session_cookie_samesite="Lax",
             content_security_policy=CSP, content_security_policy_nonce_in=["script-src"])
