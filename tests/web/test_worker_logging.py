"""A real `dramatiq web.worker` process logs each line once, as redacted JSON."""
import json
import os
import subprocess
import sys
import time

from tests.conftest import base_config
from tests.factories import TEST_SECRET


def test_worker_process_logs_json_once_per_line(database_url, rabbitmq_url, fake_providers):
    twilio, smtp = fake_providers
    env = {**os.environ, **{k: str(v) for k, v in base_config(
        database_url, twilio, smtp, BROKER_URL=rabbitmq_url, WEBHOOK_SECRET=TEST_SECRET).items()
        if v is not None and k.isupper()}}
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "web.worker", "--queues", "priority",
         "--processes", "1", "--threads", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(6)  # boot, then shut down cleanly: the lifecycle lines are what we read
    worker.terminate()
    output, _ = worker.communicate(timeout=60)
    lines = [line for line in output.splitlines() if line.strip()]
    booted = [line for line in lines if "Worker process is ready" in line]
    assert len(booted) == 1, output  # once, not once per handler
    record = json.loads(booted[0])  # JSON, not dramatiq's plain format
    assert record["level"] == "INFO" and record["logger"].startswith("dramatiq")
