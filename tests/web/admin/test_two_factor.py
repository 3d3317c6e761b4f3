"""Optional second factor: a staff member turns on an authenticator app; from then on the
password alone does not open the admin."""
import re

from passlib.totp import TOTP
from sqlalchemy import select

from db import StaffUser, db
from tests.web.admin.conftest import FAST_HASH, PASSWORD, csrf_token, login
from web.admin.cli import seed_demo_account


def _code(key: str) -> str:
    return TOTP(key=key.replace("-", ""), format="base32").generate().token


def _user(app, email) -> StaffUser:
    with app.app_context():
        return db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def test_an_authenticator_app_becomes_the_second_factor(make_app):
    # No app context held across requests here: Flask-Security keeps per-request state in g.
    app = make_app(**FAST_HASH)
    email = "staff@clinic.example"
    with app.app_context():
        seed_demo_account(email, PASSWORD, role="staff")
    client = app.test_client()
    login(client, email)
    setup = client.post("/auth/tf-setup", data={
        "setup": "authenticator", "csrf_token": csrf_token(client, "/auth/tf-setup")})
    page = setup.get_data(as_text=True)
    assert 'id="qrcode" src="data:image/svg+xml' in page or 'id="qrcode" src="data:' in page
    key = re.search(r"<div>([A-Z2-7]{4}(?:-[A-Z2-7]{4})+)</div>", page).group(1)
    action = re.search(r'<form action="([^"]+)" method="post" name="two_factor_verify_code_form"',
                       page).group(1)
    token = re.search(r'id="code-csrf" name="csrf_token" type="hidden" value="([^"]+)"',
                      page).group(1)
    done = client.post(action, data={"code": _code(key), "csrf_token": token})
    assert done.status_code in (200, 302)
    user = _user(app, email)
    assert user.tf_primary_method == "authenticator" and user.tf_totp_secret

    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    login(client, email)
    assert "/auth/login" in client.get("/admin/").headers["Location"]  # password alone: no
    verify = client.post("/auth/tf-validate", data={
        "code": _code(key), "csrf_token": csrf_token(client, "/auth/tf-validate")})
    assert verify.status_code == 302
    assert client.get("/admin/").status_code == 200
