"""delivery accounting: the status vocabulary as CHECK constraints, the daily ledger

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from db.statuses import STATUSES

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _in_vocabulary(column: str) -> str:
    return f"{column} IN ({', '.join(repr(str(s)) for s in STATUSES)})"


def _day_keys(table: str) -> list:
    return [sa.Column("local_date", sa.Date(), nullable=False),
            sa.Column("location_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["location_id"], ["locations.id"],
                                    name=op.f(f"fk_{table}_location_id_locations"))]


def upgrade():
    op.create_check_constraint(op.f("ck_notifications_status"), "notifications",
                               _in_vocabulary("status"))
    op.create_check_constraint(op.f("ck_notification_events_to_status"), "notification_events",
                               _in_vocabulary("to_status"))
    counts = ("due", "delivered", "accepted", "unconfirmed", "failed", "undelivered", "expired",
              "never_planned", "pending")
    op.create_table(
        "delivery_ledger", *_day_keys("delivery_ledger"),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.PrimaryKeyConstraint("local_date", "location_id", "channel", "kind",
                                name=op.f("pk_delivery_ledger")),
    )
    op.create_table(
        "clinic_days", *_day_keys("clinic_days"),
        sa.Column("early_warning_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed", sa.Integer(), nullable=True),
        sa.Column("ledger_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("local_date", "location_id", name=op.f("pk_clinic_days")),
    )


def downgrade():
    op.drop_table("clinic_days")
    op.drop_table("delivery_ledger")
    op.drop_constraint(op.f("ck_notification_events_to_status"), "notification_events",
                       type_="check")
    op.drop_constraint(op.f("ck_notifications_status"), "notifications", type_="check")
