"""Sends from many threads of one worker: bookkeeping shared, every guarantee kept."""
from collections import Counter

import pytest
from sqlalchemy import event, select

from actors.reminders.dispatch import dispatch
from db import Notification, NotificationEvent, db, utcnow
from tests.actors.reminders.support import open_window_config, planned_due_now
from tests.conftest import running_worker, wait_for_commits


@pytest.fixture
def app(make_app):
    app = make_app(**open_window_config(utcnow()), SMS_RATE_PER_SECOND=2000.0,
                   EMAIL_RATE_PER_SECOND=2000.0)
    with app.app_context():
        yield app


def due_reminders(count: int, channel: str) -> None:
    planned_due_now(count, channel)
    assert dispatch(utcnow()) == count


def sent_count() -> int:
    return db.session.query(Notification).filter(Notification.status == "sent").count()


def test_sends_from_many_threads_share_commits_and_each_is_recorded_once(app, fake_providers):
    twilio, _ = fake_providers
    twilio.latency = 0.02  # enough for the threads to overlap
    due_reminders(48, "sms")
    commits = Counter()

    def count(connection):
        commits["commit"] += 1

    event.listen(db.engine, "commit", count)
    try:
        with running_worker(app, queues=["sms"], threads=12):
            wait_for_commits(lambda: sent_count() == 48, "every reminder sent")
    finally:
        event.remove(db.engine, "commit", count)
    assert Counter(m["To"] for m in twilio.messages).most_common(1)[0][1] == 1
    assert len(twilio.messages) == 48
    histories = Counter()
    for notification_id, to_status in db.session.execute(
            select(NotificationEvent.notification_id, NotificationEvent.to_status)):
        histories[(notification_id, to_status)] += 1
    assert all(count == 1 for count in histories.values())
    for row in db.session.scalars(select(Notification)):
        assert row.provider == "twilio" and row.provider_message_id and row.claimed_until is None
        assert row.attempts == 1 and row.segments == 1
    # One claim and one record per message would be 96 commits; shared, far fewer.
    assert commits["commit"] < 96


def test_smtp_messages_go_one_at_a_time_per_process_and_all_arrive_once(app, fake_providers):
    _, smtp = fake_providers
    smtp.latency = 0.03
    due_reminders(12, "email")
    with running_worker(app, queues=["email"], threads=8):
        wait_for_commits(lambda: sent_count() == 12, "every e-mail sent")
    # Between an SMTP server's answer and the commit recording it, a crash would send the
    # message again on the next try (SMTP cannot be asked): so only one is ever there.
    assert smtp.most_in_flight == 1
    assert len(smtp.messages) == 12
    assert len({tuple(m["to"]) for m in smtp.messages}) == 12
