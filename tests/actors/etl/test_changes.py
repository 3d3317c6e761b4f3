"""Changes the webhook never told us about notify once; those it did, never again."""
from collections import Counter

from sqlalchemy import select

from actors.etl import pull_now
from db import Appointment, Notification, QuarantinedRecord, db
from tests.actors.etl.support import horizon_days, notification_count
from tests.conftest import TEST_SECRET, drain
from web.sample_event import signed_request

CHANNELS = {"sms": ["sms"], "email": ["email"], "both": ["sms", "email"]}


def _seed_and_pull(upstream, count=200):
    start, days = horizon_days()
    ids = upstream.seed(count, start=start, days=days)
    first = pull_now(trigger="cli")
    assert first.complete and first.created == count and notification_count() == 0
    return ids


def _move_twenty(upstream, ids):
    return [upstream.move(appointment_id, minutes=90) for appointment_id in ids[3::9][:20]]


def _messages_by_patient(twilio, smtp, records) -> dict[str, Counter]:
    return {r["patient"]["id"]: Counter(
        sms=len(twilio.sent_to(r["patient"]["phone"])),
        email=len(smtp.sent_to(r["patient"]["email"]))) for r in records}


def test_twenty_moved_appointments_notify_those_twenty_patients_once_each(
        etl_app, upstream, fake_providers):
    twilio, smtp = fake_providers
    ids = _seed_and_pull(upstream)
    moved = _move_twenty(upstream, ids)
    upstream.fail(0.10, seed=11)  # the second pull meets failures too

    run = pull_now(trigger="cli")

    assert run.complete and (run.changed, run.unchanged, run.created) == (20, 180, 0)
    notifications = db.session.execute(select(Notification)).scalars().all()
    assert {n.kind for n in notifications} == {"change"}
    by_patient = Counter(n.patient.external_id for n in notifications)
    assert set(by_patient) == {r["patient"]["id"] for r in moved}
    drain(etl_app)
    sent = _messages_by_patient(twilio, smtp, moved)
    for record in moved:
        wanted = CHANNELS[record["patient"]["preferred_channel"]]
        assert sent[record["patient"]["id"]] == Counter({c: 1 for c in wanted}), record["id"]
    assert len(twilio.messages) + len(smtp.messages) == sum(by_patient.values())

    again = pull_now(trigger="cli")  # the same data once more: nobody hears twice

    assert again.complete and again.changed == 0
    assert notification_count() == len(notifications)


def test_a_change_the_webhook_already_brought_notifies_nobody_again(
        etl_app, upstream, fake_providers):
    twilio, smtp = fake_providers
    client = etl_app.test_client()
    ids = _seed_and_pull(upstream)
    moved = _move_twenty(upstream, ids)
    for record in moved:
        body, headers = signed_request(TEST_SECRET, {"type": "appointment.updated",
                                                     "appointment": record})
        response = client.post("/api/v1/appointment-events", data=body, headers=headers)
        assert response.status_code == 202, response.get_json()
    by_webhook = notification_count()
    assert by_webhook >= 20
    drain(etl_app)
    messages_before = len(twilio.messages) + len(smtp.messages)

    run = pull_now(trigger="cli")

    assert run.complete and run.changed == 0 and run.unchanged == 200
    assert notification_count() == by_webhook
    drain(etl_app)
    assert len(twilio.messages) + len(smtp.messages) == messages_before
    sent = _messages_by_patient(twilio, smtp, moved)
    for record in moved:  # each patient heard once, from the webhook
        wanted = CHANNELS[record["patient"]["preferred_channel"]]
        assert sent[record["patient"]["id"]] == Counter({c: 1 for c in wanted}), record["id"]


def test_one_page_with_a_bad_record_a_cancellation_and_a_move_applies_all_but_the_bad_one(
        etl_app, upstream):
    upstream.page_size = 50
    ids = _seed_and_pull(upstream, count=50)  # one page
    cancelled = upstream.appointment(ids[10])
    cancelled.update(status="cancelled", updated_at=upstream.touch(ids[10])["updated_at"])
    upstream.put(cancelled)
    moved = upstream.move(ids[20], minutes=90)
    upstream.corrupt(ids[30], phone="not-a-phone")
    upstream.move(ids[30], minutes=30)  # its move cannot be applied: it is refused whole

    run = pull_now(trigger="cli")

    assert run.complete and run.pages == 1
    assert (run.changed, run.unchanged, run.quarantined) == (2, 47, 1)
    notices = db.session.execute(select(Notification)).scalars().all()
    assert {(n.appointment.external_id, n.kind) for n in notices} == {
        (ids[10], "cancellation"), (moved["id"], "change")}
    assert db.session.execute(select(QuarantinedRecord.external_id)).scalars().all() == [ids[30]]
    stored = db.session.execute(select(Appointment).where(Appointment.external_id == ids[30])
                                ).scalar_one()
    assert stored.revision == 0 and stored.missing_from_source_at is None
