"""`make run`'s dev mode serves the app, and the README's sample event reaches the console."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sample_event_prints_the_change_notice_in_the_dev_console(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path}/dev.sqlite", "PYTHONUNBUFFERED": "1",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
    flask = [sys.executable, "-m", "flask", "--app", "web"]
    output = open(tmp_path / "dev.out", "w+")
    server = subprocess.Popen([*flask, "dev", "--port", str(port)], env=env, stdout=output,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        sample = subprocess.run([*flask, "events", "send-sample"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert sample.returncode == 0, sample.stdout + sample.stderr
        assert "HTTP 202" in sample.stdout
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = (tmp_path / "dev.out").read_text()
            if "--- SMS to" in text and "--- E-mail to" in text:
                break
            time.sleep(0.2)
        text = (tmp_path / "dev.out").read_text()
        assert "events send-sample" in text  # the banner tells the newcomer what to do
        assert "--- SMS to" in text and "--- E-mail to" in text
        assert "appointment is now" in text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        output.close()
