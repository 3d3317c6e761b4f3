"""A staff password hashed under the previous SECURITY_PASSWORD_SALT, accepted once more.

Flask-Security passes every password through HMAC-SHA512 keyed with the salt before argon2,
so after the salt is rotated no stored hash matches any more. While
``SECURITY_PASSWORD_SALT_PREVIOUS`` is set, a password the current salt refuses is tried
under the previous one; if it is right, its hash is renewed under the current salt, so each
account moves over at its next login (docs/operations.md "Rotate every secret").
"""
import base64
import hashlib
import hmac

from flask import current_app
from flask_security.utils import hash_password


def _hmac(salt: str, password: str) -> str:
    digest = hmac.new(salt.encode(), password.encode(), hashlib.sha512).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_with_previous_salt(user, password: str) -> bool:
    """True, with ``user.password`` rehashed (the caller commits), if ``password`` is right
    under the previous salt."""
    previous = current_app.config.get("SECURITY_PASSWORD_SALT_PREVIOUS")
    if not previous or not user.password:
        return False
    context = current_app.extensions["security"].pwd_context
    if not context.verify(_hmac(previous, password), user.password):
        return False
    user.password = hash_password(password)
    return True
