"""``flask --app web users ...``: staff accounts from the command line (the first admin)."""
import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup
from flask_security import hash_password

from db import Location, StaffUser, db
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
@click.option("--location", "locations", multiple=True, metavar="L-…",
              help="a clinic the account sees (its external id); repeat for more; "
                   "staff and viewers see only theirs, admins every clinic")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="prompted for when not given")
def create(email, role, locations, password):
    """Create a staff account with one role, tied to its clinics."""
    email = _email(email)
    locations = sorted({name.strip() for name in locations if name.strip()})
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"needs {MIN_PASSWORD} characters or more",
                                 param_hint="--password")
    store = datastore()
    if store.find_user(email=email) is not None:
        raise click.UsageError(f"an account for {email} exists already")
    ensure_roles(store)
    user = store.create_user(email=email, password=hash_password(password), roles=[role])
    user.set_locations(locations)
    db.session.flush()
    record("account-change", "staff_user", email, account="cli",
           detail=f"created, roles={role}, active=True, locations={','.join(locations) or 'none'}")
    db.session.commit()
    known = set(db.session.scalars(db.select(Location.external_id)
                                   .where(Location.external_id.in_(locations))))
    sees = ("every clinic" if role == "admin" else ", ".join(locations) or
            "no clinic yet: give it one with --location")
    click.echo(f"created {email} ({role}; sees {sees})")
    for name in locations:
        if name not in known:
            # Not refused: the account may be set up before the first pull brings the clinic.
            click.echo(f"note: no clinic {name} is known yet; the account sees it once the "
                       "booking system sends it", err=True)


@users.command("unlock")
@click.argument("email")
def unlock(email):
    """Clear a lock-out after too many wrong passwords."""
    user = datastore().find_user(email=_email(email))
    if user is None:
        raise click.UsageError(f"no account for {email}")
    user.locked_at, user.failed_logins = None, 0
    record("account-change", "staff_user", user.email, account="cli", detail="unlocked")
    db.session.commit()
    click.echo(f"unlocked {user.email}")


def seed_demo_account(email: str, password: str, role: str = "admin",
                      locations: tuple[str, ...] | list[str] = ()) -> StaffUser:
    """Dev mode's account (and the tests'): created once, its password reset to ``password``
    on each start; ``locations`` are the external ids of the clinics it sees."""
    store = datastore()
    ensure_roles(store)
    user = store.find_user(email=email)
    if user is None:
        user = store.create_user(email=email, password=hash_password(password), roles=[role])
    else:
        user.password, user.locked_at, user.failed_logins = hash_password(password), None, 0
    user.set_locations(locations)
    db.session.commit()
    return user


def init_app(app) -> None:
    app.cli.add_command(users)
