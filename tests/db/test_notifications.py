"""The indexes on notifications: each costs an entry for every reminder a plan creates (a
million on a large day), so only those the sending and reading paths need are kept."""
from sqlalchemy import text

from db import db


def test_a_planned_reminder_pays_only_for_the_indexes_sending_and_readers_need(app):
    indexes = dict(db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'notifications'")).all())
    # By id, by dedupe key (what makes a reminder unique), by appointment (its changes and
    # its status where staff look; a patient's go through their appointments), and due
    # rows by status (the dispatch). The provider's id only once a row is sent.
    assert set(indexes) == {"pk_notifications", "uq_notifications_dedupe_key",
                            "ix_notifications_appointment_id", "ix_notifications_status_due_at",
                            "ix_notifications_provider_message_id"}
    assert indexes["ix_notifications_provider_message_id"].endswith(
        "WHERE (provider_message_id IS NOT NULL)")
