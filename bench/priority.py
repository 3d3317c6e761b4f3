"""Benchmark 3: immediate updates while a reminder backlog drains.

The system runs as the Procfile runs it (gunicorn, two SMS worker processes, one priority
worker) against a provider answering in ``latency``. A backlog of reminders is dispatched;
while it drains, change webhooks arrive at a steady rate. For each, the time from the
webhook's 2xx to the provider receiving its SMS.
"""
import threading
import time
from datetime import UTC, datetime, timedelta

import requests

from bench import harness, seed
from bench.intake import SECRET, _up, gunicorn_command
from bench.sending import (
    LOGS,
    PROCESSES,
    Provider,
    dispatch_all,
    free_port,
    notifier_app,
    notifier_env,
    worker_commands,
)
from tests import services
from web.sample_event import sample_appointment, signed_request

PHONE_BASE = 4_000_000


def _event(i: int, kind: str, hour: int, at: datetime) -> tuple[bytes, dict]:
    appointment = sample_appointment(days_ahead=5, hour=hour, updated_at=at,
                                     appointment_id=f"A-PRIO-{i}")
    appointment["patient"].update(id=f"P-PRIO-{i}", phone=f"+1312{PHONE_BASE + i}",
                                  preferred_channel="sms")
    return signed_request(SECRET, {"type": kind, "appointment": appointment})


def _reminders_left(database_url: str) -> int:
    """Reminders of the backlog not yet sent (the change notifications are not counted)."""
    connection = services.pg_connect(database_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notifications WHERE kind = 'reminder'"
                       " AND status IN ('planned', 'queued', 'sending')")
        (left,) = cursor.fetchone()
    connection.close()
    return left


def run_once(*, backlog: int, webhooks: int, per_second: float, latency: float,
             sms_concurrency: int, gevent: bool) -> dict:
    with harness.database() as database_url, harness.vhost() as broker_url, \
            Provider(latency) as provider:
        env = {**notifier_env(database_url, broker_url, provider), "WEBHOOK_SECRET": SECRET}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/api/v1/appointment-events"
        LOGS.mkdir(parents=True, exist_ok=True)
        commands = [gunicorn_command(port),
                    [str(harness.Path(harness.PYTHON).parent / "dramatiq"), "web.worker",
                     "--queues", "priority", "--processes", "1", "--threads", "8"],
                    *worker_commands("notifier", sms_concurrency, gevent)]
        seed.due_sms_reminders(database_url, backlog, status="planned")
        with harness.processes(commands, env=env, log=LOGS / "priority.log") as procs:
            services.wait_until(lambda: harness.alive(procs) and _up(base), timeout=90,
                               what="gunicorn")
            from bench.sending import consumers
            services.wait_until(lambda: consumers(broker_url, "sms") >= PROCESSES
                               and consumers(broker_url, "priority") >= 1, timeout=90,
                               what="workers")
            created_at = datetime.now(UTC) - timedelta(minutes=2)
            for i in range(webhooks):  # the appointments exist before the clock starts
                body, headers = _event(i, "appointment.created", 9, created_at)
                requests.post(url, data=body, headers=headers, timeout=30).raise_for_status()
            drainer = threading.Thread(target=dispatch_all, args=(notifier_app(env),))
            drainer.start()
            answered = {}
            start = time.monotonic()
            for i in range(webhooks):
                time.sleep(max(0.0, start + i / per_second - time.monotonic()))
                body, headers = _event(i, "appointment.updated", 14,
                                       datetime.now(UTC))
                response = requests.post(url, data=body, headers=headers, timeout=30)
                answered[f"+1312{PHONE_BASE + i}"] = time.time()
                response.raise_for_status()
            backlog_left = _reminders_left(database_url)
            phones = list(answered)
            received = services.wait_until(
                lambda: (r := provider.received(phones)) and all(r.values()) and r,
                timeout=120, interval=0.5, what="every change SMS at the provider")
            drainer.join()
        waits = [received[p] - answered[p] for p in phones]
        return {"waits": waits, "backlog_left": backlog_left}


def bench(results: harness.Results, *, backlog: int, webhooks: int, per_second: float,
          repetitions: int, latency: float, sms_concurrency: int, gevent: bool) -> None:
    ms = int(latency * 1000)
    for _ in range(repetitions):
        run = run_once(backlog=backlog, webhooks=webhooks, per_second=per_second,
                       latency=latency, sms_concurrency=sms_concurrency, gevent=gevent)
        for q in (50, 95, 99):
            results.add(f"priority {ms}ms p{q} 2xx->provider", "ms",
                        1000 * harness.percentile(run["waits"], q),
                        "<= 500" if q == 99 else "")
        results.add(f"priority {ms}ms backlog left at last webhook", "% left",
                    100 * run["backlog_left"] / backlog)
