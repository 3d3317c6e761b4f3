"""Reminders several to a broker message: each still sent once, retried alone, never lost."""
from datetime import timedelta

import dramatiq
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actors import bookkeeping, delivery
from actors.batches import messages, send_email_reminders, send_sms_reminders
from actors.reminders.dispatch import dispatch, publish
from db import Notification, Patient, db, utcnow
from tests.actors.reminders.support import open_window_config, planned_due_now
from tests.conftest import drain


@pytest.fixture
def app(make_app):
    app = make_app(**open_window_config(utcnow()), SMS_RATE_PER_SECOND=2000.0,
                   EMAIL_RATE_PER_SECOND=2000.0, REMINDERS_PER_MESSAGE=4)
    app.extensions["dramatiq"].flush_all()
    with app.app_context():
        yield app


@pytest.fixture
def twilio(fake_providers):
    return fake_providers[0]


def queued(broker, queue: str) -> list[dramatiq.Message]:
    return [dramatiq.Message.decode(data) for data in list(broker.queues[queue].queue)]


def phone_of(notification_id: int) -> str:
    return db.session.get(Patient, db.session.get(Notification, notification_id).patient_id).phone


def statuses(ids) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Notification, i).status for i in ids]


def test_reminders_go_several_to_a_message_and_change_notices_one_each(app):
    rows = ([(i, "sms") for i in range(1, 11)] + [(i, "email") for i in range(11, 14)]
            + [(14, "priority"), (15, "priority")])
    carried = [(send_actor.actor_name, args, options.get("time_limit"))
               for send_actor, args, options in messages(app.config, rows)]
    assert sorted(carried, key=str) == sorted([
        ("send_sms_batch", ([1, 2, 3, 4],), 240_000),
        ("send_sms_batch", ([5, 6, 7, 8],), 240_000),
        ("send_sms_batch", ([9, 10],), 120_000),
        ("send_email_batch", ([11, 12, 13],), 180_000),
        ("send_priority", (14,), None),
        ("send_priority", (15,), None)], key=str)


def test_one_reminder_per_message_when_so_set_and_a_lone_reminder_needs_no_batch(make_app):
    app = make_app(REMINDERS_PER_MESSAGE=1)
    carried = [(a.actor_name, args) for a, args, _ in
               messages(app.config, [(1, "sms"), (2, "sms"), (3, "email")])]
    assert carried == [("send_sms", (1,)), ("send_sms", (2,)), ("send_email", (3,))]
    app = make_app(REMINDERS_PER_MESSAGE=4)
    assert [(a.actor_name, args) for a, args, _ in messages(app.config, [(1, "sms")])] == [
        ("send_sms", (1,))]


def test_a_dispatch_from_several_threads_carries_every_reminder_once_in_due_order(make_app):
    app = make_app(DISPATCH_ENQUEUE_THREADS=4, REMINDERS_PER_MESSAGE=3)
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    rows = [(i, "email" if i % 3 == 0 else "sms") for i in range(1, 400)]
    with app.app_context():
        publish(app, rows)
    for queue in ("sms", "email"):
        carried = [m.args[0] for m in queued(broker, queue)]
        batches = [ids if isinstance(ids, list) else [ids] for ids in carried]
        assert all(1 <= len(batch) <= 3 and batch == sorted(batch) for batch in batches)
        assert sorted(i for batch in batches for i in batch) == [
            i for i, channel in rows if channel == queue]


def test_every_reminder_of_a_dispatched_batch_is_sent_once(app, twilio):
    ids = planned_due_now(10, "sms")
    assert dispatch(utcnow()) == 10
    broker = app.extensions["dramatiq"]
    assert [len(m.args[0]) for m in queued(broker, "sms")] == [4, 4, 2]
    drain(app)
    assert statuses(ids) == ["sent"] * 10
    assert sorted(len(twilio.sent_to(phone_of(i))) for i in ids) == [1] * 10


def committed_statuses(ids) -> list[str]:
    """As another connection sees them: what the batch committed, not its session's view."""
    with db.engine.connect() as connection:
        found = dict(connection.execute(select(Notification.id, Notification.status)
                                        .where(Notification.id.in_(ids))).all())
    return [found[i] for i in ids]


def counting(write, calls: list):
    """``write`` (a bookkeeping statement), noting how many items each call took."""
    def spy(items):
        calls.append(len(items))
        return write(items)
    return spy


def test_a_batch_claims_its_reminders_together_and_commits_their_answers_before_it_returns(
        app, twilio, monkeypatch, caplog):
    ids = planned_due_now(4, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    claimed, answered = [], []
    for name, calls in (("claim_rows", claimed), ("record_rows", answered)):
        monkeypatch.setattr(bookkeeping, name, counting(getattr(bookkeeping, name), calls))
    caplog.set_level("INFO", logger="actors.batches")
    send_sms_reminders(ids)
    assert claimed == [4]  # one claim transaction for the message, not one per reminder
    assert answered == [4]  # answers gathered as it went, written once
    assert committed_statuses(ids) == ["sent"] * 4
    (line,) = [r for r in caplog.records if r.getMessage() == "reminders sent"]
    assert (line.notification_ids, line.channel, line.provider) == (ids, "sms", "twilio")


def test_a_reminder_whose_answer_could_not_be_recorded_is_retried_alone_not_sent_twice(
        app, twilio, monkeypatch):
    ids = planned_due_now(3, "sms")
    dispatch(utcnow())
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    real = bookkeeping.record_rows

    def database_gone(items):
        monkeypatch.setattr(bookkeeping, "record_rows", real)
        raise OperationalError("UPDATE notifications", {}, Exception("server closed"))

    monkeypatch.setattr(bookkeeping, "record_rows", database_gone)
    send_sms_reminders(ids)
    assert committed_statuses(ids) == ["sending"] * 3  # sent, but not yet recorded
    retried = queued(broker, "sms.DQ")
    assert sorted(m.args[0] for m in retried) == ids
    assert all(m.actor_name == "send_sms" for m in retried)
    assert twilio.requests == 3


def test_a_claimed_reminder_is_not_sent_once_its_lease_may_run_out_before_the_answer(
        app, twilio, monkeypatch):
    ids = planned_due_now(2, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    real = bookkeeping.claim_all

    def slow_batch(notification_ids):  # as if the first reminder's send took most of the lease
        claims = real(notification_ids)
        return [claims[0], claims[1]._replace(until=utcnow() + timedelta(seconds=1))]

    monkeypatch.setattr("actors.batches.claim_all", slow_batch)
    send_sms_reminders(ids)
    assert committed_statuses(ids) == ["sent", "sending"]
    assert twilio.requests == 1
    (waiting,) = queued(app.extensions["dramatiq"], "sms.DQ")
    assert (waiting.args, waiting.options["retries"]) == ((ids[1],), 0)  # waits, no retry used


def test_email_reminders_are_batched_on_the_email_queue(app, fake_providers):
    _, smtp = fake_providers
    ids = planned_due_now(5, "email")
    dispatch(utcnow())
    assert [(m.actor_name, m.args) for m in queued(app.extensions["dramatiq"], "email")] == [
        ("send_email_batch", (ids[:4],)), ("send_email", (ids[4],))]
    drain(app)
    assert statuses(ids) == ["sent"] * 5 and len(smtp.messages) == 5


def test_a_throttled_reminder_is_retried_alone_while_the_rest_of_its_batch_goes(app, twilio):
    ids = planned_due_now(4, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    twilio.fail(phone_of(ids[1]), status=429, code=20429, times=1)
    send_sms_reminders(ids)
    assert statuses(ids) == ["sent", "sending", "sent", "sent"]
    (retry,) = queued(app.extensions["dramatiq"], "sms.DQ")
    # the very message Dramatiq's Retries would have re-enqueued had it come alone
    assert (retry.actor_name, retry.args, retry.options["retries"]) == ("send_sms", (ids[1],), 1)
    assert "20429" in retry.options["traceback"]
    drain(app)
    assert statuses(ids) == ["sent"] * 4
    assert db.session.get(Notification, ids[1]).attempts == 2
    assert len(twilio.sent_to(phone_of(ids[1]))) == 1


def test_a_reminder_whose_lease_is_held_waits_alone_without_using_a_retry(app, twilio):
    ids = planned_due_now(3, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    held = db.session.get(Notification, ids[0])
    held.claimed_until = utcnow() + timedelta(seconds=30)
    db.session.commit()
    send_sms_reminders(ids)
    assert statuses(ids) == ["queued", "sent", "sent"]
    (waiting,) = queued(app.extensions["dramatiq"], "sms.DQ")
    assert (waiting.args, waiting.options["retries"]) == ((ids[0],), 0)
    assert 25_000 <= waiting.options["eta"] - waiting.message_timestamp <= 31_000


def test_a_permanent_failure_fails_that_reminder_only_and_is_not_retried(app, twilio):
    ids = planned_due_now(3, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    twilio.fail(phone_of(ids[2]), status=400, code=21211)
    send_sms_reminders(ids)
    assert statuses(ids) == ["sent", "sent", "failed"]
    assert queued(app.extensions["dramatiq"], "sms.DQ") == []


def test_with_no_retries_left_a_failing_reminder_is_marked_failed_and_on_call_told(make_app,
                                                                                  twilio):
    app = make_app(**open_window_config(utcnow()), SEND_MAX_RETRIES=0, REMINDERS_PER_MESSAGE=4)
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    with app.app_context():
        ids = planned_due_now(2, "sms")
        dispatch(utcnow())
        broker.flush_all()
        twilio.fail(phone_of(ids[0]), status=503, code=20503, times=5)
        send_sms_reminders(ids)
        (exhausted,) = queued(broker, "priority")
        assert exhausted.actor_name == "send_retries_exhausted"
        drain(app)
        failed = db.session.get(Notification, ids[0])
        assert (failed.status, failed.reason) == ("failed", "retries exhausted")
        assert statuses(ids[1:]) == ["sent"]


def test_a_batch_redelivered_after_a_crash_sends_nothing_twice(app, twilio):
    ids = planned_due_now(4, "sms")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()
    send_sms_reminders(ids[:2])  # the worker died after the first two
    send_sms_reminders(ids)  # the whole message again
    assert statuses(ids) == ["sent"] * 4
    assert twilio.requests == 4
    assert queued(app.extensions["dramatiq"], "sms.DQ") == []


def test_an_unexpected_error_is_logged_without_patient_data_and_retried_alone(
        app, monkeypatch, caplog):
    ids = planned_due_now(2, "email")
    dispatch(utcnow())
    app.extensions["dramatiq"].flush_all()

    def broken(channel):
        raise RuntimeError("a bug")

    monkeypatch.setattr(delivery, "adapter_for", broken)
    send_email_reminders(ids)
    retried = queued(app.extensions["dramatiq"], "email.DQ")
    assert sorted(m.args[0] for m in retried) == ids
    assert all(m.actor_name == "send_email" for m in retried)
    logged = [r for r in caplog.records if r.getMessage().startswith("send failed")]
    assert [r.notification_id for r in logged] == ids
    for record in logged:
        assert "example.org" not in record.getMessage()


@pytest.mark.parametrize("carried", ["1,2", [1, "2"], [1.0], None])
def test_a_malformed_batch_message_is_refused(app, carried):
    with pytest.raises(TypeError):
        send_sms_reminders(carried)
