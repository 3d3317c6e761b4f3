"""Dev mode: the whole story in the first minute, banner commands that work as printed,
readable output, and one clear line for each way it cannot start."""
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import services
from tests.devserver import DevServer, dev_env, free_port
from web import create_app
from web.config import ConfigError
from web.observability import DevFormatter

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "web"]


@pytest.fixture
def dev_database():
    """A database of its own (the suite's PostgreSQL), as cheap as the embedded one and
    without touching the developer's instance/pgdata."""
    name = services.unique_name("pn_dev")
    yield services.create_database(name)
    services.drop_database(name)


def test_the_demo_tells_the_whole_story_and_the_banner_commands_work(tmp_path, dev_database):
    port = free_port()
    env = dev_env(DATABASE_URL=dev_database)
    started = time.monotonic()
    with DevServer([*FLASK, "dev", "--port", str(port)], cwd=ROOT, env=env,
                   output=tmp_path / "dev.out") as dev:
        commands = dev.banner_commands()
        assert f"http://127.0.0.1:{port}/admin/" in dev.text()
        # Sent, failed (no fallback: Alan has no address), failed with an e-mail instead.
        dev.wait_for("--- E-mail to grace@example.org", timeout=60)
        assert time.monotonic() - started < 60
        text = dev.text()
        assert "--- SMS to +13125559001" in text and "--- E-mail to ada@example.org" in text
        assert text.count("REFUSED: 21614") == 2
        assert [c[3:5] for c in commands] == [["events", "send-sample"],
                                              ["reminders", "status"], ["etl", "status"]]
        assert commands[0][5:] == ["--url", f"http://127.0.0.1:{port}"]
        outputs = []
        for command in commands:
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=60, check=False)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            outputs.append(done.stdout)
        assert outputs[0].count("HTTP 202") == 2
        status = {tuple(line.split()[:2]): line.split()[2:] for line in outputs[1].splitlines()}
        # planned queued sending sent delivered failed ...: Ada's SMS sent, two SMS failed.
        assert status[("L-0", "sms")][3] == "1" and status[("L-0", "sms")][5] == "2"
        assert status[("L-0", "email")][3] == "2"
        assert "last complete pull 20" in outputs[2]
        dev.wait_for("appointment is now")
        text = dev.text()
    assert "\x1b[" not in text, "ANSI codes in the dev terminal"
    assert '{"time"' not in text, "JSON log lines in the dev terminal"
    assert "INFO  werkzeug  POST /api/v1/appointment-events 202" in text


def test_a_taken_port_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*FLASK, "dev", "--port", str(port)], cwd=ROOT, timeout=60,
                              env=dev_env(DATABASE_URL=services.PG_ADMIN_URL),
                              capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"Error: port {port} is taken by another program; "
                                   "choose another: make run PORT=5050")


def test_a_deployment_must_name_its_database():
    with pytest.raises(ConfigError, match="DATABASE_URL: set it"):
        create_app({"BROKER_URL": services.RABBIT_URL, "DATABASE_URL": None,
                    "WEBHOOK_SECRET": "whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1zdWl0ZQ=="})


def test_without_pgserver_dev_mode_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pgserver", None)  # what a missing package raises
    with pytest.raises(ConfigError, match=r"pgserver\) is not installed: run `make install`"):
        create_app({"BROKER_URL": None, "DATABASE_URL": None})


def test_dev_log_lines_are_short_plain_and_redacted():
    def line(name, message, **extra):
        record = logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)
        record.__dict__.update(extra)
        return DevFormatter().format(record)
    access = line("werkzeug", '127.0.0.1 - - [01/Dec/2026 10:00:00] "\x1b[32mPOST '
                  '/api/v1/appointment-events HTTP/1.1\x1b[0m" 202 -')
    assert access.endswith("INFO  werkzeug  POST /api/v1/appointment-events 202")
    sent = line("actors.delivery", "sent", notification_id=7, to="+13125550100")
    assert sent.endswith("INFO  actors.delivery  sent notification_id=7 to=[phone]")
