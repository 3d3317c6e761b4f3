"""notifications: the dedupe key unique per appointment, in the index by appointment

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: Every key names its notification's appointment (actors.reminders.keys, actors.appointments,
#: db.broadcasts, actors.resend), so a key unique per appointment is unique: the check makes
#: the database hold every key to it. An acknowledgement's key names the patient's answer
#: instead (``reply:<response>``), stored once by its own unique key (patient_responses),
#: in the same transaction as its one acknowledgement.
NAMES_APPOINTMENT = (
    "CASE split_part(dedupe_key, ':', 1) WHEN 'reply' THEN true "
    "WHEN 'broadcast' THEN split_part(dedupe_key, ':', 3) = appointment_id::text "
    "ELSE split_part(dedupe_key, ':', 2) = appointment_id::text END")


def upgrade():
    # The first half of replacing two indexes by one. Each planned reminder pays an entry in
    # the index by appointment and one in the key's, whose entries land all over it (a text
    # key orders '10' before '9', and a new day's keys fall between every earlier day's).
    # Led by the appointment, one index serves both: a plan's entries, in appointment order,
    # go in left to right, new appointments at the end; keys are compared only within one
    # appointment. The key's own unique constraint stays one release more: the release
    # before this one names it in ON CONFLICT (dedupe_key), and serves while the rollout
    # replaces it. Checking and building take a pass over the table each, with its writes
    # waiting: minutes on a large table.
    op.create_check_constraint(op.f("ck_notifications_dedupe_key_names_appointment"),
                               "notifications", NAMES_APPOINTMENT)
    op.create_unique_constraint("uq_notifications_appointment_dedupe_key", "notifications",
                                ["appointment_id", "dedupe_key"])
    op.drop_index("ix_notifications_appointment_id", table_name="notifications")


def downgrade():
    op.create_index("ix_notifications_appointment_id", "notifications", ["appointment_id"])
    op.drop_constraint("uq_notifications_appointment_dedupe_key", "notifications",
                       type_="unique")
    op.drop_constraint(op.f("ck_notifications_dedupe_key_names_appointment"), "notifications",
                       type_="check")
