"""CSRF on every form, lock-out after ten wrong passwords, headers, cookies, secrets, CLI."""
import pytest
from sqlalchemy import select

from db import ConsentChange, StaffUser, db
from tests.factories import appointment, post_event
from tests.web.admin.conftest import PASSWORD, csrf_token, login
from web import create_app
from web.config import DEV_SECRET_KEY, ConfigError


def test_a_post_without_a_valid_csrf_token_is_refused(client, accounts, clinic):
    # Logging in needs the token too.
    refused = client.post("/auth/login", data={"email": accounts["staff"], "password": PASSWORD})
    assert refused.status_code == 400
    login(client, accounts["staff"])
    for token in (None, "forged-token"):
        data = {"channel": "sms", "decision": "opt-out", "reason": "by phone"}
        if token:
            data["csrf_token"] = token
        response = client.post(f"/admin/patient/{clinic.patient.id}/consent", data=data)
        assert response.status_code == 400
        assert client.post(f"/admin/alert/resolve/{clinic.alert_id}",
                           data=data).status_code == 400
        assert client.post(f"/admin/notification/cancel/{clinic.pending.id}",
                           data=data).status_code == 400
    assert db.session.scalars(select(ConsentChange)).all() == []


def test_the_webhook_and_provider_callbacks_need_no_csrf_token(client, accounts):
    login(client, accounts["staff"])  # even with a staff session in the same client
    assert post_event(client, "appointment.created", appointment()).status_code == 202
    unsigned = client.post("/api/v1/twilio/status", data={"MessageSid": "SM1"})
    assert unsigned.status_code != 400  # refused for its signature, not for CSRF


def test_ten_wrong_passwords_lock_the_account(client, accounts):
    email = accounts["staff"]
    for attempt in range(10):
        response = login(client, email, "wrong-password-" + str(attempt))
        assert response.status_code == 200  # the form again, not a session
    user = db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
    db.session.refresh(user)
    assert user.failed_logins == 10 and user.locked_at is not None
    # The right password no longer gets in (and the answer does not say why: generic).
    assert login(client, email).status_code == 200
    assert "/auth/login" in client.get("/admin/").headers["Location"]
    db.session.refresh(user)
    assert user.locked_at is not None


def test_nine_wrong_passwords_then_the_right_one_resets_the_count(client, accounts):
    email = accounts["viewer"]
    for _ in range(9):
        login(client, email, "wrong-password")
    assert login(client, email).status_code == 302
    user = db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_at is None


def test_an_admin_unlocks_from_the_command_line(app, client, accounts):
    user = db.session.scalars(select(StaffUser).where(StaffUser.email == accounts["staff"])).one()
    user.failed_logins, user.locked_at = 10, user.created_at
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "unlock", accounts["staff"]])
    assert result.exit_code == 0, result.output
    assert login(client, accounts["staff"]).status_code == 302


def test_security_headers_and_cookie_flags_over_https(client):
    # TLS ends at the ingress; Flask sees https through the forwarded scheme.
    response = client.get("/auth/login", base_url="https://notify.clinic.example")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'nonce-" in script_src and "unsafe-inline" not in script_src
    assert "max-age" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_no_hsts_and_no_secure_cookie_over_plain_http(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5000")
    with app.app_context():
        response = app.test_client().get("/auth/login")
        assert "Strict-Transport-Security" not in response.headers
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_production_refuses_the_dev_secret_key(database_url):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": DEV_SECRET_KEY,
                    "WEBHOOK_SECRET": "whsec_bm90LXRoZS1kZXYtc2VjcmV0LW5vdC10aGUtZGV2",
                    "BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"})


@pytest.mark.parametrize("args", [
    ["users", "create", "not-an-email", "--role", "staff", "--password", PASSWORD],
    ["users", "create", "new@clinic.example", "--role", "owner", "--password", PASSWORD],
    ["users", "create", "new@clinic.example", "--role", "staff", "--password", "short"],
    ["users", "create", "staff@clinic.example", "--role", "staff", "--password", PASSWORD],
])
def test_users_create_rejects_bad_input_with_exit_code_2(app, accounts, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output


def test_users_create_makes_an_account_that_logs_in(app, client):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "New.Person@Clinic.Example", "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(StaffUser)).one()
    assert user.email == "new.person@clinic.example" and user.role_names == {"viewer"}
    assert user.password.startswith("$argon2")
    assert login(client, "new.person@clinic.example").status_code == 302
    assert client.get("/admin/patient/").status_code == 403


def test_logging_out_takes_a_post_with_a_token(client, accounts):
    login(client, accounts["staff"])
    assert client.get("/auth/logout").status_code == 405
    token = csrf_token(client, "/admin/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302
