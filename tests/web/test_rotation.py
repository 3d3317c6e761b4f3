"""Rotating the staff admin's secrets (web/rotation.py, web/cli_rotate.py,
db/password_salt.py): staff stay logged in, passwords keep working and second factors keep
working through each rotation done as docs/operations.md says; done wrong, it shows.
"""
import json

import pytest
from passlib.exc import PasslibSecurityError
from sqlalchemy import select

from db import AuditEntry, StaffUser, db
from tests.web.admin.conftest import FAST_HASH, PASSWORD, csrf_token, login
from web.admin.cli import seed_demo_account
from web.config import ConfigError

EMAIL = "staff@clinic.example"
OLD_KEY, NEW_KEY = "old-secret-key-" + "a" * 20, "new-secret-key-" + "b" * 20
OLD_TOTP, NEW_TOTP = "old-totp-key-" + "c" * 20, "new-totp-key-" + "d" * 20


def _app(make_app, **settings):
    return make_app(**FAST_HASH, **settings)


def _logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _enroll(app) -> str:
    """Give the account an authenticator; returns its stored (encrypted) secret."""
    with app.app_context():
        user = seed_demo_account(EMAIL, PASSWORD, role="staff")
        user.tf_primary_method = "authenticator"
        user.tf_totp_secret = app.extensions["security"].totp_factory.generate_totp_secret()
        db.session.commit()
        return user.tf_totp_secret


def _second_factor_works(app, stored: str) -> bool:
    """A full login with password and the code the staff member's app shows."""
    with app.app_context():
        code = app.extensions["security"].totp_factory.generate_totp_password(stored)
    client = app.test_client()
    login(client, EMAIL)
    client.post("/auth/tf-validate", data={
        "code": code, "csrf_token": csrf_token(client, "/auth/tf-validate")})
    return _logged_in(client)


def _version(app) -> str:
    with app.app_context():
        stored = db.session.execute(select(StaffUser.tf_totp_secret)).scalar_one()
        return str(json.loads(stored)["enckey"]["t"])


def test_secret_key_rotation_keeps_staff_logged_in(make_app):
    before = _app(make_app, SECRET_KEY=OLD_KEY, SECURITY_TOTP_SECRETS={"1": OLD_TOTP})
    with before.app_context():
        seed_demo_account(EMAIL, PASSWORD, role="staff")
    client = before.test_client()
    login(client, EMAIL)
    assert _logged_in(client)
    cookie = _session_cookie(client)

    during = _app(make_app, SECRET_KEY=NEW_KEY, SECRET_KEY_PREVIOUS=OLD_KEY,
                  SECURITY_TOTP_SECRETS={"1": OLD_TOTP})
    carried = during.test_client()
    carried.set_cookie("session", cookie)
    assert _logged_in(carried)  # the old key's session is still accepted

    # Done wrong (no SECRET_KEY_PREVIOUS): every staff member is logged out.
    abrupt = _app(make_app, SECRET_KEY=NEW_KEY, SECURITY_TOTP_SECRETS={"1": OLD_TOTP})
    lost = abrupt.test_client()
    lost.set_cookie("session", cookie)
    assert not _logged_in(lost)


def test_a_new_secret_key_with_the_totp_key_still_derived_from_it_is_refused(make_app):
    with pytest.raises(ConfigError, match="SECURITY_TOTP_SECRETS=1="):
        _app(make_app, SECRET_KEY=NEW_KEY, SECRET_KEY_PREVIOUS=OLD_KEY)
    # Pinned first, as the guide says: the authenticators enrolled under the old key work.
    old = _app(make_app, SECRET_KEY=OLD_KEY)
    stored = _enroll(old)
    pinned = _app(make_app, SECRET_KEY=NEW_KEY, SECRET_KEY_PREVIOUS=OLD_KEY,
                  SECURITY_TOTP_SECRETS={"1": OLD_KEY})
    assert _second_factor_works(pinned, stored)


def test_totp_key_rotation_keeps_every_second_factor_working(make_app):
    first = _app(make_app, SECURITY_TOTP_SECRETS={"1": OLD_TOTP})
    stored = _enroll(first)
    assert _second_factor_works(first, stored)

    both = _app(make_app, SECURITY_TOTP_SECRETS={"2": NEW_TOTP, "1": OLD_TOTP})
    assert _second_factor_works(both, stored)
    result = both.test_cli_runner().invoke(args=["rotate", "totp-rekey", "--by", "ops"])
    assert result.exit_code == 0 and "1 of 1 authenticator secrets moved to key version 2" \
        in result.output, result.output
    assert _version(both) == "2"
    again = both.test_cli_runner().invoke(args=["rotate", "totp-rekey", "--by", "ops"])
    assert "0 of 1" in again.output

    only_new = _app(make_app, SECURITY_TOTP_SECRETS={"2": NEW_TOTP})
    with only_new.app_context():
        rekeyed = db.session.execute(select(StaffUser.tf_totp_secret)).scalar_one()
        actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert _second_factor_works(only_new, rekeyed)  # the same authenticator app, unchanged
    assert actions.count("totp-secrets-rekeyed") == 2


def test_removing_the_old_totp_key_before_the_rekey_breaks_second_factors(make_app):
    first = _app(make_app, SECURITY_TOTP_SECRETS={"1": OLD_TOTP})
    stored = _enroll(first)
    too_soon = _app(make_app, SECURITY_TOTP_SECRETS={"2": NEW_TOTP})
    with too_soon.app_context(), pytest.raises((KeyError, ValueError, PasslibSecurityError)):
        too_soon.extensions["security"].totp_factory.generate_totp_password(stored)


def test_salt_rotation_moves_each_password_over_at_its_next_login(make_app):
    before = _app(make_app, SECURITY_PASSWORD_SALT="old-salt-" + "e" * 20)
    with before.app_context():
        seed_demo_account(EMAIL, PASSWORD, role="staff")
        seed_demo_account("away@clinic.example", PASSWORD, role="staff")
    new_salt = "new-salt-" + "f" * 20
    during = _app(make_app, SECURITY_PASSWORD_SALT=new_salt,
                  SECURITY_PASSWORD_SALT_PREVIOUS="old-salt-" + "e" * 20)
    client = during.test_client()
    login(client, EMAIL)
    assert _logged_in(client)
    wrong = during.test_client()
    login(wrong, EMAIL, password="not-the-password-at-all")
    assert not _logged_in(wrong)  # the old salt accepts the right password only

    after = _app(make_app, SECURITY_PASSWORD_SALT=new_salt)
    moved = after.test_client()
    login(moved, EMAIL)
    assert _logged_in(moved)  # rehashed under the new salt at the login above
    # Done wrong for an account that did not log in meanwhile: its password no longer works
    # until ops set a new one.
    away = after.test_client()
    login(away, "away@clinic.example")
    assert not _logged_in(away)
    result = after.test_cli_runner().invoke(args=[
        "rotate", "reset-password", "away@clinic.example", "--password", "a-new-long-password",
        "--by", "ops"])
    assert result.exit_code == 0, result.output
    back = after.test_client()
    login(back, "away@clinic.example", password="a-new-long-password")
    assert _logged_in(back)


@pytest.mark.parametrize("value", ["2=short", "x=" + "k" * 20, "1=" + "k" * 20 + ",1=" + "j" * 20])
def test_a_malformed_totp_secrets_setting_is_one_clear_error(value):
    from web.config import settings_from_env
    with pytest.raises(ConfigError, match="SECURITY_TOTP_SECRETS"):
        settings_from_env({"SECURITY_TOTP_SECRETS": value})
    assert settings_from_env({"SECURITY_TOTP_SECRETS": f"2={NEW_TOTP}, 1={OLD_TOTP}"})[
        "SECURITY_TOTP_SECRETS"] == {"2": NEW_TOTP, "1": OLD_TOTP}
