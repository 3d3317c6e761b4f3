"""``flask --app web rotate …``: the database side of rotating the staff admin's secrets
(docs/operations.md "Rotate every secret"; the settings side is web/rotation.py)."""
import json

import click
from flask import current_app
from flask.cli import AppGroup
from flask_security.utils import hash_password
from passlib.totp import TOTP
from sqlalchemy import select

from db import StaffUser, db
from web.admin.audit import record

rotate = AppGroup("rotate", help="Move stored staff secrets to the current keys.")

BY = click.option("--by", required=True, metavar="WHO",
                  help="Who does this (name or e-mail), for the audit log.")


def _version(stored: str) -> str | None:
    """The key version a stored authenticator secret is encrypted with (passlib's JSON)."""
    try:
        return str(json.loads(stored)["enckey"]["t"])
    except (ValueError, KeyError, TypeError):
        return None


@rotate.command("totp-rekey")
@BY
def totp_rekey(by):
    """Re-encrypt every staff authenticator secret with the newest SECURITY_TOTP_SECRETS
    version, so older versions can be removed. Harmless to run twice."""
    keys = TOTP.using(secrets=current_app.config["SECURITY_TOTP_SECRETS"])
    newest = max(current_app.config["SECURITY_TOTP_SECRETS"], key=int)
    users = db.session.execute(select(StaffUser).where(StaffUser.tf_totp_secret.is_not(None))
                               .with_for_update()).scalars().all()
    moved = 0
    for user in users:
        if _version(user.tf_totp_secret) == newest:
            continue
        # Decrypted with the version it names, encrypted with the newest: the same
        # authenticator key, so the staff member's app keeps working unchanged.
        user.tf_totp_secret = keys.from_source(user.tf_totp_secret).to_json(encrypt=True)
        moved += 1
    record("totp-secrets-rekeyed", "staff_user", None, account=by,
           detail=f"{moved} of {len(users)} moved to key version {newest}")
    db.session.commit()
    left = sorted({_version(u.tf_totp_secret) for u in users} - {newest} - {None})
    click.echo(f"{moved} of {len(users)} authenticator secrets moved to key version {newest}"
               + (f"; still on {', '.join(left)}" if left else
                  "; older versions may now be removed from SECURITY_TOTP_SECRETS"))


@rotate.command("reset-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (prompted if not given).")
@BY
def reset_password(email, password, by):
    """Set a staff password under the current SECURITY_PASSWORD_SALT, for an account that
    did not log in while the previous salt was still accepted."""
    user = db.session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower())
                              ).scalar_one_or_none()
    if user is None:
        raise click.BadParameter(f"no staff account {email!r}", param_hint="EMAIL")
    if len(password) < current_app.config["SECURITY_PASSWORD_LENGTH_MIN"]:
        raise click.BadParameter("too short", param_hint="--password")
    user.password = hash_password(password)
    record("password-reset", "staff_user", user.id, account=by, detail="by ops (rotate)")
    db.session.commit()
    click.echo(f"password of {user.email} set; tell them to change it after logging in")


def init_app(app) -> None:
    app.cli.add_command(rotate)
