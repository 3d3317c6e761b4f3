"""Benchmark 2: due reminders sent through the real actors, beside three peers.

Every system does the same per-message work against the same rows and the same fast
provider: the system's own ``send_sms`` actor (locking, lease, rendering, history), a bare
Dramatiq actor, a Celery 5 task and raw pika (the limit); two worker processes each. A run
seeds N queued reminders, starts the workers, waits until they consume, then publishes all
N from 8 threads and stops the clock when the last 'sent' status is committed and the
provider has answered every message. Systems alternate within each repetition.
"""
import json
import os
import secrets
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import dramatiq
import pika
import requests
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from bench import harness, raw_pika, seed
from bench.fast_twilio import DEFAULT_SID, DEFAULT_TOKEN
from tests import services

#: ``bare-urllib3`` is the bare actor posting through urllib3 as the system's Twilio client
#: does (bench/work.py): the ratio against it is the framework's, not the HTTP client's.
#: ``notifier-single`` is the system with one reminder per message (REMINDERS_PER_MESSAGE=1),
#: message for message what the peers do; ``notifier`` is what ships (10 to a message).
SYSTEMS = ("notifier", "notifier-single", "bare", "bare-urllib3", "celery", "pika")
NOTIFIERS = ("notifier", "notifier-single")
PROCESSES = 2
PUBLISH_THREADS = 8
ROOT = harness.ROOT
VENV_BIN = Path(harness.PYTHON).parent
CELERY_PYTHON = ROOT / "bench" / ".venv-celery" / "bin" / "python"
LOGS = harness.RESULTS / "logs"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    """The fast Twilio-compatible server in its own process."""

    def __init__(self, latency: float):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.latency = latency

    def __enter__(self):
        self._proc = subprocess.Popen(
            [harness.PYTHON, "-m", "bench.fast_twilio", "--port", str(self.port),
             "--latency", str(self.latency)], cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services.wait_until(self._up, timeout=30, what="fast Twilio server")
        return self

    def _up(self) -> bool:
        try:
            return requests.get(f"{self.url}/_bench/stats", timeout=1).ok
        except requests.RequestException:
            return False

    def __exit__(self, *exc):
        harness.stop(self._proc)

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_bench/stats", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.url}/_bench/reset", timeout=5)

    def received(self, numbers: list[str]) -> dict:
        return requests.post(f"{self.url}/_bench/received", json={"to": numbers},
                             timeout=30).json()


#: The appointment system's webhook secret in every benchmark (production refuses the dev one).
WEBHOOK_SECRET = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtZm9yLWxvYWQ="

#: Every system's database pool: 20 per process, no overflow (an overflow connection is a
#: PostgreSQL backend started and stopped per message once concurrency passes the pool).
POOL = 20


def notifier_env(database_url: str, broker_url: str, provider: Provider,
                 concurrency: int = 32) -> dict:
    """Settings (web/config.py) of the system's own processes pointed at the bench."""
    return {"DATABASE_URL": database_url, "BROKER_URL": broker_url, "SMS_CHANNEL": "twilio",
            "TWILIO_ACCOUNT_SID": DEFAULT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_TOKEN,
            "TWILIO_FROM_NUMBER": "+13125550199", "TWILIO_API_BASE_URL": provider.url,
            "EMAIL_CHANNEL": "console", "PUBLIC_BASE_URL": "https://notify.clinic.example",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "DATABASE_POOL_SIZE": str(POOL), "DATABASE_MAX_OVERFLOW": "0",
            "PROVIDER_HTTP_CONNECTIONS": str(max(concurrency, 10)),
            # production refuses the dev defaults once BROKER_URL is set
            "WEBHOOK_SECRET": WEBHOOK_SECRET, "SECRET_KEY": secrets.token_hex(32),
            "SECURITY_PASSWORD_SALT": secrets.token_hex(16)}


def peer_env(database_url: str, broker_url: str, provider: Provider, concurrency: int) -> dict:
    return {"BENCH_DATABASE_URL": database_url, "BENCH_BROKER_URL": broker_url,
            "BENCH_TWILIO_URL": provider.url, "BENCH_TWILIO_SID": DEFAULT_SID,
            "BENCH_TWILIO_TOKEN": DEFAULT_TOKEN, "BENCH_CONCURRENCY": str(concurrency),
            "BENCH_POOL": str(POOL)}


def system_env(system: str, database_url: str, broker_url: str, provider, concurrency: int):
    """The environment of ``system``'s worker processes."""
    if system == "notifier":
        return notifier_env(database_url, broker_url, provider, concurrency)
    if system == "notifier-single":
        return {**notifier_env(database_url, broker_url, provider, concurrency),
                "REMINDERS_PER_MESSAGE": "1"}
    env = peer_env(database_url, broker_url, provider, concurrency)
    if system == "bare-urllib3":
        env["BENCH_HTTP"] = "urllib3"  # bench/work.py posts through urllib3's pool
    return env


def worker_commands(system: str, concurrency: int, gevent: bool) -> list[list[str]]:
    dramatiq_bin = str(VENV_BIN / ("dramatiq-gevent" if gevent else "dramatiq"))
    if system in NOTIFIERS:
        # What ships: the Procfile's worker command, its model from WORKER_MODEL (env(1)
        # and the launcher both exec, so the process measured is Dramatiq's own).
        model = "gevent" if gevent else "threads"
        return [["env", f"WORKER_MODEL={model}", harness.PYTHON, "-m", "web.worker_model",
                 "web.worker", "--queues", "sms", "--processes", str(PROCESSES),
                 "--threads", str(concurrency)]]
    if system in ("bare", "bare-urllib3"):
        return [[dramatiq_bin, "bench.bare_dramatiq", "--processes", str(PROCESSES),
                 "--threads", str(concurrency)]]
    if system == "celery":
        pool = ["-P", "gevent"] if gevent else ["-P", "threads"]
        return [[str(CELERY_PYTHON), "-m", "celery", "-A", "bench.celery_peer.tasks", "worker",
                 "-Q", "sms", *pool, "-c", str(concurrency), "-n", f"peer{i}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "-l", "WARNING"] for i in range(PROCESSES)]
    return [[harness.PYTHON, "-m", "bench.raw_pika", "--concurrency", str(concurrency)]
            for _ in range(PROCESSES)]


def consumers(broker_url: str, queue: str = "sms") -> int:
    try:
        return services.queue_counts(broker_url, queue)[1]
    except pika.exceptions.AMQPError:  # not declared yet: the workers are still starting
        return 0


def publish_dramatiq(broker_url: str, actor_name: str, ids: list[int], options: dict) -> None:
    """Enqueue like the system does: persistent messages, one confirm each, 8 threads."""
    broker = RabbitmqBroker(url=broker_url, confirm_delivery=True, middleware=[])
    broker.declare_queue("sms")

    def run(part):
        for notification_id in part:
            broker.enqueue(dramatiq.Message(queue_name="sms", actor_name=actor_name,
                                            args=(notification_id,), kwargs={},
                                            options=dict(options)))
    threads = [threading.Thread(target=run, args=(ids[i::PUBLISH_THREADS],))
               for i in range(PUBLISH_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    broker.close()


_apps: dict = {}


def notifier_app(env: dict):
    """The app the system's dispatch runs in for ``env``, its actors bound to its broker (the
    actors are the process's: the last app made would otherwise receive every publish)."""
    from actors.broker import bind_actors
    from web import create_app
    from web.config import settings_from_env
    key = env["BROKER_URL"]
    if key not in _apps:  # one app per vhost: its broker keeps one channel per thread
        _apps[key] = create_app(settings_from_env(env))
    bind_actors(_apps[key].extensions["dramatiq"])
    return _apps[key]


def dispatch_all(app) -> int:
    """The system's own dispatch (actors.reminders.dispatch), as the tick runs it."""
    from actors.reminders.dispatch import dispatch
    from db import db, utcnow
    with app.app_context():
        try:
            return dispatch(utcnow())
        finally:
            db.session.remove()


def run_once(system: str, *, database_url: str, broker_url: str, provider: Provider,
             count: int, concurrency: int, gevent: bool, on_ready=None) -> dict:
    """One drain of ``count`` reminders by ``system``; its rate and CPU per message."""
    seed.reset(database_url)
    # The system's own dispatch moves planned rows to queued and publishes them.
    seed.due_sms_reminders(database_url, count,
                           status="planned" if system in NOTIFIERS else "queued")
    ids = seed.notification_ids(database_url)
    env = system_env(system, database_url, broker_url, provider, concurrency)
    LOGS.mkdir(parents=True, exist_ok=True)
    with harness.processes(worker_commands(system, concurrency, gevent), env=env,
                           log=LOGS / f"{system}.log") as workers:
        services.wait_until(lambda: harness.alive(workers) and consumers(broker_url)
                           >= PROCESSES, timeout=90, what=f"{system} workers to consume")
        provider.reset()
        if on_ready:
            on_ready(workers)
        probe = services.pg_connect(database_url)
        app = notifier_app(env) if system in NOTIFIERS else None  # made before the clock
        cpu0, machine0 = harness.tree_cpu_seconds(workers), harness.machine_cpu_seconds()
        t0 = time.time()
        if system == "celery":
            out = subprocess.run([str(CELERY_PYTHON), "-m", "bench.celery_peer.publish",
                                  "--threads", str(PUBLISH_THREADS)], cwd=ROOT, check=True,
                                 env={**os.environ, **env}, capture_output=True, text=True)
            t0 = json.loads(out.stdout.strip().splitlines()[-1])["t0"]
        elif system == "pika":
            raw_pika.publish(broker_url, ids, PUBLISH_THREADS)
        elif system in NOTIFIERS:
            dispatch_all(app)
        else:
            publish_dramatiq(broker_url, "bare_send", ids, {})
        published = time.time()

        def done() -> bool:
            return (seed.count_status(database_url, "sent", probe) >= count
                    and provider.stats()["messages"] >= count)
        services.wait_until(done, timeout=60 + count / 20, interval=0.05,
                           what=f"{system} to send {count} reminders")
        t1 = time.time()
        cpu = harness.tree_cpu_seconds(workers) - cpu0
        machine = harness.machine_cpu_seconds() - machine0
        probe.close()
    return {"rate": count / (t1 - t0), "worker_cpu_ms": 1000 * cpu / count,
            "machine_cpu_ms": 1000 * machine / count, "publish_s": published - t0}


def bench(results: harness.Results, *, count: int, repetitions: int, latencies: dict,
          systems=SYSTEMS, gevent: bool = True, on_ready=None, label: str = "") -> None:
    """``latencies`` maps provider latency (s) to worker concurrency per process; ``label``
    names the worker model in the figures when one latency is measured in two models."""
    if "celery" in systems and not CELERY_PYTHON.exists():
        systems = tuple(s for s in systems if s != "celery")
        results.notes.append("Celery peer skipped: bench/.venv-celery missing (make bench "
                             "creates it)")
    with ExitStack() as stack:
        database_url = stack.enter_context(harness.database())
        vhosts = {s: stack.enter_context(harness.vhost()) for s in systems}
        for latency, concurrency in latencies.items():
            ms = int(latency * 1000)
            name = f"send {ms}ms{' ' + label if label else ''}"
            with Provider(latency) as provider:
                for rep in range(repetitions):
                    order = systems[rep % len(systems):] + systems[:rep % len(systems)]
                    for system in order:
                        figures = run_once(system, database_url=database_url,
                                           broker_url=vhosts[system], provider=provider,
                                           count=count, concurrency=concurrency,
                                           gevent=gevent, on_ready=on_ready)
                        goal = ">= 1,000" if system == "notifier" else ""
                        results.add(f"{name} {system} msg/s", "msg/s", figures["rate"], goal)
                        results.add(f"{name} {system} worker CPU/msg", "ms",
                                    figures["worker_cpu_ms"])
                        results.add(f"{name} {system} machine CPU/msg", "ms",
                                    figures["machine_cpu_ms"])
            _ratios(results, name, systems)


def _ratios(results: harness.Results, name: str, systems) -> None:
    """Ratios per repetition (same repetition, same conditions), median over them."""
    if "notifier" not in systems:
        return
    mine = results.figures[f"{name} notifier msg/s"].samples
    goals = {"celery": ">= 2", "bare": ">= 1", "bare-urllib3": "", "pika": ">= 0.5",
             "notifier-single": ""}
    for peer in systems:
        if peer == "notifier":
            continue
        theirs = results.figures[f"{name} {peer} msg/s"].samples
        for a, b in zip(mine, theirs):
            results.add(f"{name} notifier / {peer}", "ratio", a / b, goals[peer])
