"""Retries as Dramatiq means them: a provider's 503 storm is WARNING lines only (no ERROR, no
traceback, no Sentry event), the messages go out when it ends, and the deadline check uses
the delay Dramatiq will wait (actors.retries)."""
import logging
import threading
from datetime import timedelta

import dramatiq
import pytest
import sentry_sdk
from dramatiq.middleware import CurrentMessage

from actors.delivery import send_priority
from actors.retries import next_delay_ms, outage_retry, own_message
from db import db, utcnow
from tests.actors.alerts.support import MemoryTransport
from tests.actors.test_delivery import change, notification
from tests.conftest import drain
from tests.factories import appointment, moved, post_event


@pytest.fixture
def transport():
    capture = MemoryTransport()
    yield capture
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: later tests report nowhere


def test_twilio_503_storm_is_warnings_only_and_the_messages_go_out_after(
        make_app, fake_providers, transport, caplog):
    twilio, _ = fake_providers
    app = make_app(SENTRY_TRANSPORT=transport, SEND_MAX_RETRIES=30)
    twilio.outage = (503, 20503)
    ids = []
    with app.app_context():
        client = app.test_client()
        for n in range(3):
            first = appointment(id=f"A-{n}", patient={"id": f"P-{n}",
                                                      "phone": f"+1312555020{n}"})
            post_event(client, "appointment.created", first)
            response = post_event(client, "appointment.updated", moved(first, hours=1))
            ids += [row["id"] for row in response.json["notifications"]]
        threading.Timer(1.5, lambda: setattr(twilio, "outage", None)).start()
        caplog.set_level(logging.DEBUG)
        drain(app, rounds=6)
        sentry_sdk.flush()
        db.session.rollback()
        assert {notification(nid).status for nid in ids} == {"sent"}
    assert len(twilio.messages) == 3 and twilio.duplicates() == 0
    retried = [r for r in caplog.records if r.getMessage() == "send will be retried"]
    assert retried and all(r.levelno == logging.WARNING and r.error_code == "20503"
                           and r.notification_id in ids for r in retried)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    events = [item for envelope in transport.envelopes for item in envelope.items
              if item.headers.get("type") == "event"]
    assert events == []  # (a release-health "session" envelope is not an event)


def _as_current(message):
    CurrentMessage._MESSAGE.set(message)


def test_deadline_check_uses_dramatiqs_backoff(app, client, monkeypatch):
    """Past the sixth retry the wait is capped at max_backoff; 2**retries would say hours."""
    _, (nid,) = change(client)
    message = send_priority.message_with_options(args=(nid,), retries=12, min_backoff=100,
                                                 max_backoff=400)
    _as_current(message)
    try:
        assert 200 <= next_delay_ms() <= 400
        pending = notification(nid)
        pending.deadline_at = utcnow() + timedelta(seconds=5)
        db.session.commit()
        from actors import delivery
        monkeypatch.setattr(delivery, "_send", _refuse)
        with pytest.raises(dramatiq.Retry) as retry:
            delivery.deliver(nid)
        assert retry.value.delay <= 400
        assert notification(nid).status == "sending"  # not failed: the retry fits the deadline
    finally:
        _as_current(None)


def _refuse(adapter, claim, notification_id):
    from actors.channels import RetryableError
    raise RetryableError("20503", "provider busy or unavailable")


def test_a_database_outage_does_not_use_up_the_messages_retries(app):
    message = send_priority.message_with_options(args=(1,), retries=2, min_backoff=100,
                                                 max_backoff=400)
    _as_current(message)
    try:
        retry = outage_retry("send")
    finally:
        _as_current(None)
    assert isinstance(retry, dramatiq.Retry) and retry.delay <= 200
    # The Retries middleware adds one: the message is back at the retries it had.
    assert message.options["retries"] == 1 and message.options["outage_retries"] == 1



def test_waiting_for_another_attempts_lease_does_not_use_up_retries(app, client):
    _, (nid,) = change(client)
    pending = notification(nid)
    pending.claimed_until = utcnow() + timedelta(seconds=30)  # another worker's attempt
    db.session.commit()
    message = send_priority.message_with_options(args=(nid,), retries=3)
    _as_current(message)
    try:
        from actors.delivery import deliver
        with pytest.raises(dramatiq.Retry):
            deliver(nid)
    finally:
        _as_current(None)
    assert message.options["retries"] == 2  # the middleware's +1 brings it back to 3


def test_a_reminder_of_a_batch_counts_its_retries_in_its_own_options_not_the_batchs(app):
    batch = send_priority.message_with_options(args=([1, 2],), retries=5, min_backoff=100,
                                               max_backoff=400)
    own = {"retries": 0, "min_backoff": 60_000, "max_backoff": 60_000}
    _as_current(batch)
    try:
        with own_message(own):
            assert next_delay_ms() >= 30_000  # its own backoff, not the batch's 100-400 ms
            outage_retry("send")
        assert 100 <= next_delay_ms() <= 400  # outside, the batch's own again
    finally:
        _as_current(None)
    assert own["retries"] == -1 and own["outage_retries"] == 1
    assert batch.options["retries"] == 5 and "outage_retries" not in batch.options
