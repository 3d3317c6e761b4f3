"""Dead letters on real RabbitMQ: a send that exhausts its retries is listed, alerted on,
and replayed until it is delivered."""
import pytest
from sqlalchemy import select

from actors.alerts.checks import run_checks
from actors.broker import QUEUES
from actors.dead_letters import dead_letter_counts
from db import Alert, Notification, db, utcnow
from tests.actors.alerts.support import COMMIT_GRACE, ONCALL, alert_mails, booked
from tests.conftest import running_worker, wait_for_commits
from tests.factories import PATIENT

PHONE = PATIENT["phone"]


@pytest.fixture
def rabbit_app(make_app, rabbitmq_url):
    app = make_app(BROKER_URL=rabbitmq_url, ALERT_EMAIL_TO=ONCALL,
                   DELIVERY_RATE_MIN_VOLUME=100_000)
    broker = app.extensions["dramatiq"]
    for queue in QUEUES:
        broker.flush(queue)
    with app.app_context():
        yield app
    for queue in QUEUES:
        broker.flush(queue)
    broker.close()


def notification() -> Notification:
    return db.session.execute(select(Notification)).scalar_one()


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=["dead-letters", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_exhausted_message_is_listed_alerted_and_replayed(rabbit_app, rabbitmq_url,
                                                          fake_providers):
    twilio, smtp = fake_providers
    twilio.fail(PHONE, status=503, code=20503, times=4)  # the first try and 3 retries
    with running_worker(rabbit_app):
        booked(rabbit_app.test_client())
        failed = wait_for_commits(lambda: notification().status == "failed" and notification(),
                          "the send to exhaust its retries")
        assert failed.reason == "retries exhausted"
        wait_for_commits(lambda: dead_letter_counts(rabbitmq_url)["priority"] == 1, "the dead letter")

        listing = cli(rabbit_app, "list")
        assert "send_priority" in listing and f" {failed.id} " in listing
        assert "provider error 20503" in listing and "1 dead letter(s)." in listing
        assert cli(rabbit_app, "list", "--queue", "sms") == "No dead letters.\n"
        assert PHONE not in listing and PATIENT["family_name"] not in listing

        run_checks(utcnow() + COMMIT_GRACE)
        subjects = wait_for_commits(lambda: len(alert_mails(smtp)) == 2 and
                            sorted(m["Subject"] for m in alert_mails(smtp)), "alert e-mails")
        assert any("dead-letter queue priority.XQ" in s for s in subjects)
        assert any("20503" in s for s in subjects)
        dead = db.session.execute(select(Alert).where(Alert.key == "dead-letters:priority")
                                  ).scalar_one()
        assert dead.status == "open" and dead.sample_ids == [failed.id]

        replayed = cli(rabbit_app, "replay", "--id", str(failed.id))
        assert "1 dead letter(s) replayed." in replayed
        assert "dead-letter replay: done, 1 letters (priority)" in replayed  # plain: no tty
        sent = wait_for_commits(lambda: notification().status == "sent" and notification(),
                        "the replayed send")
        assert len(twilio.sent_to(PHONE)) == 1
        assert [e.to_status for e in sent.events][-4:] == ["failed", "queued", "sending", "sent"]
        assert sent.events[-3].source == "dead-letter-replay"
        assert cli(rabbit_app, "list") == "No dead letters.\n"

        run_checks(utcnow() + COMMIT_GRACE)
        wait_for_commits(lambda: len(alert_mails(smtp)) == 3, "the resolution e-mail")
        assert "RESOLVED" in alert_mails(smtp)[-1]["Subject"]


def test_replay_of_an_unknown_id_fails_and_keeps_the_queue(rabbit_app):
    result = rabbit_app.test_cli_runner().invoke(args=["dead-letters", "replay", "--id", "nope"])
    assert result.exit_code == 1 and "no dead letter with id nope" in result.output


def test_dead_letter_commands_need_rabbitmq(make_app):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["dead-letters", "list"])
    assert result.exit_code == 2 and "BROKER_URL" in result.output
