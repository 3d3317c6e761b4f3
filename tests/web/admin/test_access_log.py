"""The access log of a real gunicorn (started as the Procfile starts it) after staff search
for a patient by name, phone and e-mail: JSON lines, and no name, phone or e-mail in them."""
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.services import wait_until
from tests.web.admin.conftest import EMAIL, PASSWORD, PHONE, TOKEN

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SEARCHES = ["Ada", "Lovelace", "Ada Lovelace", PHONE, "(312) 555-0100", "312-555-0100",
            EMAIL, "ada.lovelace"]
SECRETS = ("Ada", "Lovelace", "lovelace", "3125550100", "555-0100", "555 0100", "example.org")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_staff_searches_never_reach_gunicorns_access_log(database_url, app, accounts, clinic,
                                                         tmp_path):
    clinic_app = app
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           # The accounts' passwords were hashed with the suite's salt.
           "SECRET_KEY": clinic_app.config["SECRET_KEY"],
           "SECURITY_PASSWORD_SALT": clinic_app.config["SECURITY_PASSWORD_SALT"]}
    env.pop("BROKER_URL", None)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
             "--access-logfile", "-", "web:create_app()"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[3])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(base), timeout=60, what="gunicorn")
        session = requests.Session()
        token = TOKEN.search(session.get(f"{base}/auth/login", timeout=10).text).group(1)
        logged_in = session.post(f"{base}/auth/login", timeout=30, allow_redirects=False,
                                 data={"email": accounts["staff"], "password": PASSWORD,
                                       "csrf_token": token})
        assert logged_in.status_code == 302, re.findall(r"(?s)<(?:div|li|span)[^>]*(?:error|alert)[^>]*>.{0,300}", logged_in.text)
        found = 0
        for term in SEARCHES:
            for view in ("patient", "appointment"):
                page = session.get(f"{base}/admin/{view}/", params={"search": term},
                                   timeout=30, headers={"Referer": f"{base}/admin/{view}/"
                                                        f"?search={term}"})
                assert page.status_code == 200
                found += "Lovelace" in page.text
        assert found >= len(SEARCHES)  # the searches found the patient
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], [line for line in text.splitlines() if any(s in line for s in leaked)]
    requests_logged = [json.loads(line) for line in text.splitlines()
                       if line.startswith("{") and '"logger": "gunicorn.access"' in line]
    searches = [r for r in requests_logged if r["path"] == "/admin/patient/"]
    assert len(searches) == len(SEARCHES)
    assert all(r["query_params"] == ["search"] and r["status"] == 200 for r in searches)
    assert not re.search(r"search=(?!\[redacted\])", text)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code < 500
    except requests.RequestException:  # still booting
        return False
