"""Nothing lost and nothing twice through crashes, restarts and outages, counted at the fake
providers. ``make test`` runs short versions; ``make chaos`` (CHAOS=long) the long ones and
prints each scenario's figures: messages, lost, duplicates, time to drain after the fault.
"""
import os
import random
import signal
import time

from actors.dead_letters import check_dead_letters
from actors.delivery import SEND_ACTORS
from db import Alert, db
from tests.factories import appointment, moved
from tests.faults.conftest import FIGURES
from tests.services import queue_counts, wait_until

LONG = os.environ.get("CHAOS") == "long"
#: (short, long) sizes of each scenario.
SIZE = {"kill": (150, 2000), "deploy": (150, 2000), "rabbit": (150, 2000),
        "postgres": (100, 2000), "timeout": (40, 500), "poison": (60, 500)}
KILLS = 10 if LONG else 2
RABBIT_OUTAGE = 30 if LONG else 4
POSTGRES_OUTAGE = 60 if LONG else 5


def size(name: str) -> int:
    return SIZE[name][LONG]


def record(system, name, since, **notes):
    notes["pending_after_fault"] = system.pending()  # what was left to drain
    figures = system.figures(name, system.wait_drained(since), **notes)
    FIGURES.append(figures)
    print(figures.line())
    return figures


def progressed(system, total: int, share: float) -> None:
    # Bounds a hang, not a speed check: the machine is shared, a worker boots in seconds.
    wait_until(lambda: system.pending() <= total * (1 - share), timeout=300,
               what=f"{share:.0%} of the batch sent")


def test_sms_worker_sigkilled_at_random_moments(system):
    total = system.reminders(size("kill"), email_every=10)
    system.twilio.latency = 0.15 if LONG else 0.3  # the batch lasts as long as the kills
    rng = random.Random(20261201)
    worker = system.start_worker()
    system.start_ticking()
    progressed(system, total, 0.05)
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.1, 1.0))
        system.kill(worker)
        worker = system.start_worker()
        time.sleep(rng.uniform(0.5, 2.5))  # started again, mid-batch
    figures = record(system, "1 SIGKILL of the SMS worker", time.monotonic(), kills=KILLS)
    assert figures.lost == 0
    assert figures.notes["sms_duplicates"] == 0  # receipts and the reconcile step
    # SMTP cannot be asked; one e-mail at a time per process is between the server's answer
    # and the commit recording it, so a crash sends at most that one again.
    assert figures.notes["smtp_duplicates"] <= KILLS


def test_rolling_deploy_sigterms_every_worker(system):
    total = system.reminders(size("deploy"))
    system.twilio.latency = 0.05 if LONG else 0.1
    old = [system.start_worker(), system.start_worker()]
    system.start_ticking()
    progressed(system, total, 0.1)
    for worker in old:  # one at a time, as a Deployment's rolling update does
        system.start_worker()
        assert system.kill(worker, signal.SIGTERM) == 0  # graceful: it finishes, then exits
    figures = record(system, "2 rolling deploy (SIGTERM)", time.monotonic())
    assert (figures.lost, figures.duplicates) == (0, 0)


def test_rabbitmq_unreachable_mid_batch(system):
    total = system.reminders(size("rabbit"))
    system.twilio.latency = 0.02
    system.start_worker()
    system.start_ticking()
    first = appointment(id="A-outage", patient={"id": "P-outage", "phone": "+13125559001"})
    system.webhook("appointment.created", first)
    progressed(system, total, 0.1)
    system.mq.cut()
    answered = system.webhook("appointment.updated", moved(first, hours=2)).status_code
    time.sleep(RABBIT_OUTAGE)
    system.mq.restore()
    figures = record(system, "3 RabbitMQ away", time.monotonic(), outage_s=RABBIT_OUTAGE)
    assert answered == 202  # committed; its message is the sweep's to send again
    assert (figures.lost, figures.duplicates) == (0, 0)


def test_postgresql_unreachable_mid_batch(system, rabbitmq_url):
    total = system.reminders(size("postgres"))
    system.twilio.latency = 0.02
    system.start_worker()
    system.start_ticking()
    progressed(system, total, 0.1)
    system.pg.cut()
    refused = system.webhook("appointment.created", appointment(id="A-late"))
    time.sleep(POSTGRES_OUTAGE)
    system.pg.restore()
    figures = record(system, "4 PostgreSQL away", time.monotonic(),
                     outage_s=POSTGRES_OUTAGE)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert (figures.lost, figures.duplicates) == (0, 0)
    for queue in ("sms", "priority", "email"):  # the outage sent nothing to a dead letter
        assert queue_counts(rabbitmq_url, f"{queue}.XQ")[0] == 0


def test_provider_accepts_but_the_answer_never_comes(system):
    total = system.reminders(size("timeout"))
    swallowed = max(5, total // 10)
    system.twilio.swallow(swallowed, seconds=system.settings["PROVIDER_TIMEOUT_SECONDS"] + 1)
    system.start_worker()
    system.start_ticking()
    wait_until(lambda: system.twilio._swallow == 0, timeout=120, what="the answers lost")
    figures = record(system, "5 provider answer lost", time.monotonic(), timeouts=swallowed)
    assert (figures.lost, figures.duplicates) == (0, 0)


def test_poison_message_is_dead_lettered_once_while_the_rest_flows(system, rabbitmq_url):
    system.reminders(size("poison"))
    SEND_ACTORS["sms"].send_with_options(args=("poison",), max_retries=2, min_backoff=100,
                                         max_backoff=200)
    system.start_worker()
    system.start_ticking()
    started = time.monotonic()
    wait_until(lambda: queue_counts(rabbitmq_url, "sms.XQ")[0] == 1, timeout=120,
               what="the poison message in the dead-letter queue")
    figures = record(system, "6 poison message", started)
    with system.app.app_context():
        check_dead_letters(rabbitmq_url)
        check_dead_letters(rabbitmq_url)  # the next check: the same alert, not a new one
        db.session.commit()
        alerts = db.session.query(Alert).filter(Alert.kind == "dead-letters").all()
    assert len(alerts) == 1 and alerts[0].key == "dead-letters:sms"
    assert (figures.lost, figures.duplicates) == (0, 0)


