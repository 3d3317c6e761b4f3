"""The indexes and checks on notifications: each costs its work for every reminder a plan
creates (a million on a large day), so only those the sending and reading paths need are
kept."""
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from actors.reminders.plan import plan
from db import Notification, create_notifications, db
from tests.actors.reminders.support import booking, clinic, patient

NOW = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)


def test_a_planned_reminder_pays_only_for_the_indexes_sending_and_readers_need(app):
    indexes = dict(db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notifications'")).all())
    # By id, by appointment and dedupe key in one (what makes a reminder unique, and an
    # appointment's changes and status where staff look; a patient's go through their
    # appointments), and due rows by status (the dispatch). The provider's id only once a
    # row is sent. Not the key alone (migration 0016): unique per appointment is unique.
    assert set(indexes) == {"pk_notifications", "uq_notifications_appointment_dedupe_key",
                            "ix_notifications_status_due_at", "ix_notifications_provider_message_id"}
    assert indexes["uq_notifications_appointment_dedupe_key"].endswith(
        "USING btree (appointment_id, dedupe_key)")
    assert indexes["ix_notifications_provider_message_id"].endswith(
        "WHERE (provider_message_id IS NOT NULL)")
    # No foreign key (its check fires for every row) and no trigger a plan's row fires:
    # the fallback's check is skipped when there is no fallback.
    keys = db.session.scalars(text(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'notifications'::regclass "
        "AND contype = 'f'")).all()
    assert keys == []
    inserting = db.session.scalars(text(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'notifications'::regclass "
        "AND NOT tgisinternal AND tgtype & 4 = 4")).all()  # fired by INSERT
    assert inserting == [
        ("CREATE TRIGGER notifications_fallback_has_original BEFORE INSERT OR UPDATE OF "
        "fallback_of_id ON public.notifications FOR EACH ROW WHEN ((new.fallback_of_id IS NOT "
        "NULL)) EXECUTE FUNCTION refuse_fallback_without_original()")]


def test_a_fallback_must_point_at_an_sms_that_exists_and_keeps_it(app):
    """What the foreign key of a fallback guarded, by a trigger that a planned reminder (no
    fallback) never fires (migration 0014)."""
    loc = clinic("L-1", "Europe/London")
    reminded = booking(loc, patient("sms"), date(2026, 11, 1))
    db.session.commit()
    plan(NOW)  # its SMS has no history row of its own (its plan run's): nothing else holds it
    db.session.commit()
    sms = db.session.scalars(select(Notification)).one()
    with pytest.raises(IntegrityError, match=f"notification {sms.id + 1000} does not exist"):
        create_notifications([_fallback(reminded, sms.id + 1000)], source="test", now=NOW)
    db.session.rollback()
    [email] = create_notifications([_fallback(reminded, sms.id)], source="test", now=NOW)
    db.session.commit()
    for statement in (f"DELETE FROM notifications WHERE id = {sms.id}",
                      f"UPDATE notifications SET id = id + 1000 WHERE id = {sms.id}",
                      (f"UPDATE notifications SET fallback_of_id = {sms.id + 1000} "
                      f"WHERE id = {email.id}")):
        with pytest.raises(IntegrityError):
            db.session.execute(text(statement))
        db.session.rollback()
    db.session.execute(text(f"UPDATE notifications SET status = 'queued' WHERE id = {sms.id}"))
    db.session.commit()
    assert db.session.get(Notification, email.id).fallback_of_id == sms.id


def _fallback(appointment, sms_id: int) -> dict:
    return {"appointment_id": appointment.id, "patient_id": appointment.patient_id,
            "kind": "reminder", "channel": "email", "status": "planned", "due_at": NOW,
            "dedupe_key": f"reminder:{appointment.id}:2026-11-01:email:fallback",
            "fallback_of_id": sms_id}


def test_a_key_is_held_once_and_names_its_appointment(app):
    """Unique per appointment is unique (migration 0015): a key must name its appointment
    (a broadcast's in third place), so no other appointment's row can hold it."""
    loc = clinic("L-1", "Europe/London")
    first = booking(loc, patient("sms"), date(2026, 11, 1))
    other = booking(loc, patient("sms"), date(2026, 11, 1))
    db.session.commit()

    def row(appointment, key):
        return {"appointment_id": appointment.id, "patient_id": appointment.patient_id,
                "kind": "change", "channel": "sms", "status": "queued", "due_at": NOW,
                "dedupe_key": key}
    key = f"change:{first.id}:1:sms"
    assert len(create_notifications([row(first, key)], source="test", now=NOW)) == 1
    assert create_notifications([row(first, key)], source="test", now=NOW) == []
    broadcast = f"broadcast:7:{first.id}:sms"
    assert len(create_notifications([row(first, broadcast)], source="test", now=NOW)) == 1
    db.session.commit()
    # Another appointment's keys, and keys that name no appointment or a different one.
    wrong = [f"broadcast:{other.id}:{first.id}:sms", f"change:{other.id}0:1:sms",
             "reminder:test:sms"]
    for taken in (key, broadcast, *wrong):
        with pytest.raises(IntegrityError, match="ck_notifications_dedupe_key_names_appointment"):
            create_notifications([row(other, taken)], source="test", now=NOW)
        db.session.rollback()
    assert db.session.scalars(select(Notification.dedupe_key).order_by(Notification.id)
                              ).all() == [key, broadcast]
