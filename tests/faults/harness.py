"""The fault harness: the real processes of the Procfile, with faults injected between them.

Workers are ``dramatiq web.worker`` child processes (killed and restarted as a deploy or
the kernel does); PostgreSQL and RabbitMQ are reached through ``fakes.proxy.TcpProxy``,
which the scenarios cut and restore; Twilio is ``fakes.twilio.FakeTwilio``, whose receipts
go to the web app served in this process (through the same proxies). The reminder tick runs
in a thread of this process every second (the scheduler's minute, faster).

What a scenario measures, at the providers: every due message reached (``lost``), how many
reached a patient twice (``duplicates``), and the time from the end of the fault until
nothing is pending any more (``drain_seconds``).
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import time as clock
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dramatiq.errors import BrokerError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.serving import make_server

from actors.reminders.plan import plan
from actors.reminders.tick import run_tick
from db import Notification, Status, db, utcnow
from db.statuses import NOT_DUE, PENDING
from fakes.proxy import TcpProxy
from tests.actors.reminders.support import booking, clinic, midday_zone, patient
from tests.factories import post_event

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)

#: Settings of every process of a scenario: short leases, backoffs and sweep delays, so that
#: a fault's consequences play out in seconds; the mechanisms are those of production.
FAST = {"SMS_RATE_PER_SECOND": 2000.0, "EMAIL_RATE_PER_SECOND": 2000.0,
        "REMINDER_WINDOW": "10:00-14:00", "SEND_LEASE_SECONDS": 4,
        "PROVIDER_TIMEOUT_SECONDS": 1.5, "SEND_MAX_RETRIES": 8,
        "PRIORITY_MIN_BACKOFF_MS": 200, "PRIORITY_MAX_BACKOFF_MS": 2000,
        "REMINDER_MIN_BACKOFF_MS": 200, "REMINDER_MAX_BACKOFF_MS": 2000,
        "SWEEP_STUCK_AFTER_SECONDS": 15, "SWEEP_PRIORITY_STUCK_AFTER_SECONDS": 10,
        "BROKER_HEARTBEAT_SECONDS": 5}


def _through(url: str, proxy: TcpProxy) -> str:
    scheme, rest = url.split("//", 1)
    credentials, _, tail = rest.rpartition("@")
    path = tail.partition("/")[2]
    return f"{scheme}//{credentials + '@' if credentials else ''}127.0.0.1:{proxy.port}/{path}"


def _target(url: str) -> tuple[str, int]:
    host_port = url.split("//", 1)[1].rpartition("@")[2].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    return host, int(port)


@dataclass
class Figures:
    scenario: str
    messages: int
    lost: int
    duplicates: int
    drain_seconds: float
    notes: dict = field(default_factory=dict)

    def line(self) -> str:
        extra = "".join(f"  {k}={v}" for k, v in self.notes.items())
        return (f"{self.scenario:<34} messages={self.messages:<5} lost={self.lost:<3} "
                f"duplicates={self.duplicates:<3} drain={self.drain_seconds:6.1f}s{extra}")


class System:
    """One scenario's world. ``app`` talks to PostgreSQL and RabbitMQ directly (setup and
    checks); ``proxied`` is the app the web server and the ticker use, through the proxies."""

    def __init__(self, make_app, twilio, smtp, database_url, rabbitmq_url, **settings):
        self.twilio, self.smtp = twilio, smtp
        self.settings = {**FAST, **settings}
        self.pg = TcpProxy(*_target(database_url)).start()
        self.mq = TcpProxy(*_target(rabbitmq_url)).start()
        self.database_url = _through(database_url, self.pg)
        self.broker_url = _through(rabbitmq_url, self.mq)
        self.app = make_app(BROKER_URL=rabbitmq_url, **self.settings)
        self.app.extensions["dramatiq"].flush_all()  # the vhost outlives a test
        # Created last, so the actors publish through the proxy (init_broker rebinds them).
        self.proxied = make_app(DATABASE_URL=self.database_url, BROKER_URL=self.broker_url,
                                **self.settings)
        self.server = make_server("127.0.0.1", 0, self.proxied, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.web_url = f"http://127.0.0.1:{self.server.server_port}"
        twilio.callback_rewrite = (self.app.config["PUBLIC_BASE_URL"], self.web_url)
        self.workers: list[subprocess.Popen] = []
        # Workers' WARNING-and-above lines, for a scenario that fails (ids only: rule 7).
        artifacts = REPO / "test-artifacts"  # git-ignored: absent in a fresh clone
        artifacts.mkdir(exist_ok=True)
        self._worker_log = open(artifacts / "fault-workers.log", "ab")  # noqa: SIM115
        # The in-process publishers' connections die with every cut and at teardown; pika
        # logs each at ERROR with a traceback, which would bury the figures.
        self._pika = logging.getLogger("pika")
        self._pika_level = self._pika.level
        self._pika.setLevel(logging.CRITICAL)
        self._ticking = threading.Event()
        self._ticker = None
        self._config = {k: v for k, v in self.app.config.items()
                        if k.isupper() and isinstance(v, (str, int, float, bool))}

    # --- processes -------------------------------------------------------------------
    def worker_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMTP_"))}
        env.update({k: str(v) for k, v in self._config.items()})
        env.update(DATABASE_URL=self.database_url, BROKER_URL=self.broker_url,
                   PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
        return env

    def start_worker(self, queues=("sms", "email", "priority"), threads=8) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "web.worker", "--queues", *queues,
             "--processes", "1", "--threads", str(threads), "--worker-shutdown-timeout", "20000"],
            cwd=REPO, env=self.worker_env(), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=self._worker_log)
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen, sig=signal.SIGKILL, timeout: float = 30) -> int:
        if process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)  # dramatiq's main process forwards it to its workers
        code = process.wait(timeout=timeout)
        if sig != signal.SIGKILL:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # nothing of it may linger
            except ProcessLookupError:
                pass
        return code

    def start_ticking(self, interval: float = 1.0) -> None:
        def run():
            with self.proxied.app_context():
                while not self._ticking.wait(interval):
                    try:
                        run_tick(utcnow())
                    except (SQLAlchemyError, BrokerError) as error:  # the next tick resumes
                        log.info("tick failed: %s", type(error).__name__)
                        try:
                            db.session.rollback()
                        except SQLAlchemyError:
                            db.session.invalidate()

        self._ticker = threading.Thread(target=run, name="ticker", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        self._ticking.set()
        if self._ticker is not None:
            self._ticker.join(timeout=30)
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.server.shutdown()
        for app in (self.app, self.proxied):  # before the proxies drop their connections
            app.extensions["dramatiq"].close()
        self.pg.stop()
        self.mq.stop()
        self._pika.setLevel(self._pika_level)
        self._worker_log.close()

    # --- load and figures -------------------------------------------------------------
    def reminders(self, count: int, *, email_every: int = 0) -> int:
        """``count`` reminders due now, one per patient; every ``email_every``-th by e-mail."""
        with self.app.app_context():
            now = utcnow()
            zone = midday_zone(now)
            location = clinic("L-1", zone)
            day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=3)
            for n in range(count):
                channel = "email" if email_every and n % email_every == 0 else "sms"
                booking(location, patient(channel), day, clock(9 + n % 8, (n * 7) % 60))
            db.session.commit()
            plan(now - timedelta(minutes=1))
            db.session.commit()
        return count

    def pending(self) -> int:
        with self.app.app_context():
            return db.session.scalar(select(func.count()).select_from(Notification)
                                     .where(Notification.status.in_(PENDING)))

    def wait_drained(self, since: float, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.pending()} notifications still pending")
            time.sleep(0.25)
        return time.monotonic() - since

    def statuses(self) -> dict:
        with self.app.app_context():
            return dict(db.session.execute(select(Notification.status, func.count())
                                           .group_by(Notification.status)).all())

    def webhook(self, event_type: str, appointment: dict):
        """A signed appointment event, as upstream posts it, to the web app (proxied)."""
        with self.proxied.app_context():
            return post_event(self.proxied.test_client(), event_type, appointment)

    def figures(self, scenario: str, drain: float, **notes) -> Figures:
        """Due: every notification not decided against; reached: sent or delivered in the
        database and present at the provider; duplicates: the same text to the same
        recipient more than once at the provider."""
        with self.app.app_context():
            statuses = dict(db.session.execute(select(Notification.status, func.count())
                                               .group_by(Notification.status)).all())
        due = sum(count for status, count in statuses.items() if status not in NOT_DUE)
        recorded = sum(statuses.get(status, 0) for status in (Status.SENT, Status.DELIVERED))
        at_providers = len({(m["To"], m["Body"]) for m in self.twilio.messages}) + \
            len({(tuple(m["to"]), m["message"]["Subject"]) for m in self.smtp.messages})
        smtp_dups = len(self.smtp.messages) - len({(tuple(m["to"]), m["message"]["Subject"])
                                                   for m in self.smtp.messages})
        twilio_dups = self.twilio.duplicates()
        return Figures(scenario, due, due - min(recorded, at_providers),
                       twilio_dups + smtp_dups, drain,
                       {"sms_duplicates": twilio_dups, "smtp_duplicates": smtp_dups, **notes})
