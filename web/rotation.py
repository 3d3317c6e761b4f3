"""Rotating the staff admin's secrets without locking staff out (docs/operations.md
"Rotate every secret").

- ``SECRET_KEY``: ``SECRET_KEY_PREVIOUS`` becomes Flask's ``SECRET_KEY_FALLBACKS``, which
  Flask's session cookie and Flask-Security's tokens accept, so logged-in staff stay logged
  in while the new key signs everything new.
- The TOTP keys: ``SECURITY_TOTP_SECRETS`` is Flask-Security's versioned dict
  (``2=new,1=old``): passlib encrypts new authenticator secrets with the highest version and
  decrypts each stored one with the version it names; ``rotate totp-rekey`` re-encrypts
  every stored secret with the newest, after which the old version may go.
- ``SECURITY_PASSWORD_SALT``: it is the HMAC key every password passes through before
  argon2, so a new salt alone makes every password wrong. ``SECURITY_PASSWORD_SALT_PREVIOUS``
  lets a password made under the old salt log in once more, and rehashes it under the new
  (``db.password_salt``, called by ``StaffUser.verify_and_update_password``).
"""
from web.config import ConfigError


def totp_secrets(config) -> dict[str, str]:
    """The versioned keys that encrypt staff authenticator secrets in the database.

    Without SECURITY_TOTP_SECRETS the one key (version 1) is SECURITY_TOTP_SECRET, or
    SECRET_KEY as before there was a choice: rotating SECRET_KEY then must pin it first,
    which ``check_rotation`` enforces.
    """
    if config.get("SECURITY_TOTP_SECRETS"):
        return dict(config["SECURITY_TOTP_SECRETS"])
    return {"1": config.get("SECURITY_TOTP_SECRET") or config["SECRET_KEY"]}


def check_rotation(config) -> None:
    """Refuse the one rotation mistake the settings can show: a new SECRET_KEY while the
    authenticator secrets are still encrypted with the old one."""
    if config.get("SECRET_KEY_PREVIOUS") and not (
            config.get("SECURITY_TOTP_SECRETS") or config.get("SECURITY_TOTP_SECRET")):
        raise ConfigError(
            "SECRET_KEY_PREVIOUS: staff authenticator secrets are encrypted with SECRET_KEY "
            "(SECURITY_TOTP_SECRETS is unset), so a new SECRET_KEY would break every second "
            "factor; set SECURITY_TOTP_SECRETS=1=<the previous SECRET_KEY> first")


def rotation_settings(config) -> dict:
    check_rotation(config)
    previous = config.get("SECRET_KEY_PREVIOUS")
    return {"SECRET_KEY_FALLBACKS": [previous] if previous else [],
            "SECURITY_TOTP_SECRETS": totp_secrets(config)}
