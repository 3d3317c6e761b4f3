"""``flask --app web users ...``: staff accounts from the command line (the first admin)."""
import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup
from flask_security import hash_password

from db import StaffUser, db
from db.staff import ROLES
from web.admin.audit import record
from web.admin.security import datastore, ensure_roles

users = AppGroup("users", help="Staff accounts of the admin.")
MIN_PASSWORD = 12


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="viewer: counts only; staff: patients and actions; admin: everything")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="prompted for when not given")
def create(email, role, password):
    """Create a staff account with one role."""
    email = _email(email)
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"needs {MIN_PASSWORD} characters or more",
                                 param_hint="--password")
    store = datastore()
    if store.find_user(email=email) is not None:
        raise click.UsageError(f"an account for {email} exists already")
    ensure_roles(store)
    user = store.create_user(email=email, password=hash_password(password), roles=[role])
    db.session.flush()
    record("account-change", "staff_user", user.id, account="cli",
           detail=f"created, roles={role}, active=True")
    db.session.commit()
    click.echo(f"created {email} ({role})")


@users.command("unlock")
@click.argument("email")
def unlock(email):
    """Clear a lock-out after too many wrong passwords."""
    user = datastore().find_user(email=_email(email))
    if user is None:
        raise click.UsageError(f"no account for {email}")
    user.locked_at, user.failed_logins = None, 0
    record("account-change", "staff_user", user.id, account="cli", detail="unlocked")
    db.session.commit()
    click.echo(f"unlocked {user.email}")


def seed_demo_account(email: str, password: str, role: str = "admin") -> StaffUser:
    """Dev mode's account: created once, its password reset to ``password`` on each start."""
    store = datastore()
    ensure_roles(store)
    user = store.find_user(email=email)
    if user is None:
        user = store.create_user(email=email, password=hash_password(password), roles=[role])
    else:
        user.password, user.locked_at, user.failed_logins = hash_password(password), None, 0
    db.session.commit()
    return user


def init_app(app) -> None:
    app.cli.add_command(users)
