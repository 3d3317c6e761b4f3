"""replies and self-service: patient responses and their staff inbox, the outbound webhook
outbox with its attempts, and the patient's own channel choice

Revision ID: 0007
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def _big_id(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.BigInteger(), primary_key=True)


def upgrade():
    op.add_column("patients", sa.Column("channel_chosen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "patient_responses",
        _big_id(),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.BigInteger(), nullable=True),
        sa.Column("ack_notification_id", sa.BigInteger(), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("needs_staff", sa.Boolean(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint("kind IN ('confirm', 'cancel', 'unclear')",
                           name=op.f("ck_patient_responses_kind")),
        sa.CheckConstraint("channel IN ('sms', 'email')",
                           name=op.f("ck_patient_responses_channel")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_patient_responses_appointment_id_appointments")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_patient_responses_patient_id_patients")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"],
                                name=op.f("fk_patient_responses_location_id_locations")),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_patient_responses_notification_id_notifications")),
        sa.ForeignKeyConstraint(
            ["ack_notification_id"], ["notifications.id"],
            name=op.f("fk_patient_responses_ack_notification_id_notifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_responses")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_patient_responses_dedupe_key")),
    )
    op.create_index(op.f("ix_patient_responses_appointment_id"), "patient_responses",
                    ["appointment_id"])
    op.create_index(op.f("ix_patient_responses_patient_id"), "patient_responses",
                    ["patient_id"])
    op.create_index(op.f("ix_patient_responses_ack_notification_id"), "patient_responses",
                    ["ack_notification_id"])
    op.create_index("ix_patient_responses_inbox", "patient_responses",
                    ["location_id", "needs_staff", "handled_at"])
    op.create_table(
        "outbound_webhooks",
        _big_id(),
        sa.Column("response_id", sa.BigInteger(), nullable=False),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name=op.f("ck_outbound_webhooks_status")),
        sa.ForeignKeyConstraint(["response_id"], ["patient_responses.id"],
                                name=op.f("fk_outbound_webhooks_response_id_patient_responses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_webhooks")),
        sa.UniqueConstraint("response_id", name=op.f("uq_outbound_webhooks_response_id")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_outbound_webhooks_webhook_id")),
    )
    op.create_index("ix_outbound_webhooks_status_next_attempt_at", "outbound_webhooks",
                    ["status", "next_attempt_at"])
    op.create_table(
        "outbound_webhook_attempts",
        _big_id(),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbound_webhooks.id"],
            name=op.f("fk_outbound_webhook_attempts_outbox_id_outbound_webhooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_webhook_attempts")),
    )
    op.create_index(op.f("ix_outbound_webhook_attempts_outbox_id"),
                    "outbound_webhook_attempts", ["outbox_id"])


def downgrade():
    op.drop_table("outbound_webhook_attempts")
    op.drop_table("outbound_webhooks")
    op.drop_table("patient_responses")
    op.drop_column("patients", "channel_chosen_at")
