"""A page applied as one batch does exactly what its records applied one by one do.

The ETL applies a page with ``apply_appointment_updates``; the webhook applies one record
with ``apply_appointment_update``. The same records, through either, must leave the same
appointments, the same notices and the same cancelled reminders: one update path.
"""
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from actors.appointments import apply_appointment_update, apply_appointment_updates
from actors.schemas import AppointmentSchema
from db import Appointment, Notification, Status, create_notifications, db, utcnow
from tests.factories import appointment, moved

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
OUTCOMES = ["changed", "changed", "stale", "changed", "stale", "changed", "created",
            "changed", "stale"]


def _load(record: dict) -> dict:
    return AppointmentSchema().load(record)


def _booked(prefix: str, name: str, *, channel="sms") -> dict:
    return appointment(id=f"{prefix}-{name}", updated_at=T0,
                       patient={"id": f"{prefix}-P-{name}", "preferred_channel": channel})


def _pending_reminder(external_id: str) -> None:
    row = db.session.execute(select(Appointment).where(Appointment.external_id == external_id)
                             ).scalar_one()
    now = utcnow()
    create_notifications([{
        "appointment_id": row.id, "patient_id": row.patient_id, "kind": "reminder",
        "channel": "sms", "revision": row.revision, "status": Status.PLANNED,
        "due_at": now + timedelta(days=1), "deadline_at": row.starts_at,
        "dedupe_key": f"reminder:{row.id}:test:sms"}], source="test", now=now)


def _stored_then_page(prefix: str) -> list[dict]:
    """Store four booked appointments (one with a pending reminder); return one page of
    records about them and one new appointment, in the order upstream would list them."""
    move, cancel, stale = (_booked(prefix, n) for n in ("move", "cancel", "stale"))
    dup = _booked(prefix, "dup", channel="both")
    for record in (move, cancel, stale, dup):
        apply_appointment_update(_load(record), source="etl")
    _pending_reminder(cancel["id"])
    db.session.commit()
    new = _booked(prefix, "new", channel="email")
    new_moved = moved(new, hours=2, seconds_later=120)
    return [
        moved(move, hours=1),  # a time change
        moved(cancel, status="cancelled"),  # a cancellation with a reminder pending
        moved(stale, hours=2, seconds_later=-60),  # older than what is stored
        moved(dup, hours=1),
        moved(dup, hours=1),  # the same record twice in one page
        moved(dup, hours=3, seconds_later=120),  # and a later change after it
        new,  # first sight
        new_moved,  # moved after its first sight, in the same page
        new,  # its first version again: older than the one just applied
    ]


def _what_the_patients_get(prefix: str) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.execute(select(Notification)
                              .join(Appointment, Appointment.id == Notification.appointment_id)
                              .where(Appointment.external_id.like(f"{prefix}-%"))
                              .order_by(Notification.id)).scalars().all()
    return [(n.appointment.external_id.removeprefix(prefix), n.kind, n.channel, n.revision,
             n.status) for n in rows]


def _appointments(prefix: str) -> list[tuple]:
    rows = db.session.execute(select(Appointment)
                              .where(Appointment.external_id.like(f"{prefix}-%"))
                              .order_by(Appointment.external_id)).scalars().all()
    return [(a.external_id.removeprefix(prefix), a.status, a.starts_at, a.local_date,
             a.revision, a.source_updated_at) for a in rows]


def test_a_page_as_one_batch_gives_the_notices_its_records_give_one_by_one(app, stub_broker):
    alone_page = _stored_then_page("ALONE")
    alone = [apply_appointment_update(_load(r), source="etl").outcome for r in alone_page]
    db.session.commit()
    batch_page = _stored_then_page("BATCH")
    batch = [r.outcome for r in apply_appointment_updates([_load(r) for r in batch_page],
                                                          source="etl")]
    db.session.commit()

    assert batch == alone == OUTCOMES
    assert _appointments("BATCH") == _appointments("ALONE")
    assert _what_the_patients_get("BATCH") == _what_the_patients_get("ALONE") == [
        ("-cancel", "reminder", "sms", 0, Status.CANCELLED),  # cancelled with it
        ("-move", "change", "sms", 1, Status.QUEUED),
        ("-cancel", "cancellation", "sms", 1, Status.QUEUED),
        ("-dup", "change", "sms", 1, Status.QUEUED),  # the duplicate told nobody twice
        ("-dup", "change", "email", 1, Status.QUEUED),
        ("-dup", "change", "sms", 2, Status.QUEUED),  # the later change is news
        ("-dup", "change", "email", 2, Status.QUEUED),
        ("-new", "change", "email", 1, Status.QUEUED),  # first sight told nobody
    ]
    # Each run's seven notices were handed to the priority queue on its commit.
    assert stub_broker.queues["priority"].qsize() == 2 * 7


def test_a_batch_of_one_answers_as_the_webhook_expects(app):
    record = _booked("ONE", "a")
    first = apply_appointment_updates([_load(record)], source="webhook")
    again = apply_appointment_update(_load(record), source="webhook")
    changed = apply_appointment_update(_load(moved(record, hours=1)), source="webhook")
    db.session.commit()

    assert [r.outcome for r in first] == ["created"]
    assert (again.outcome, again.notifications) == ("stale", [])
    assert changed.as_dict()["outcome"] == "changed"
    assert [(n["kind"], n["channel"]) for n in changed.as_dict()["notifications"]] == [
        ("change", "sms")]


def test_an_empty_page_applies_nothing(app):
    assert apply_appointment_updates([], source="etl") == []
