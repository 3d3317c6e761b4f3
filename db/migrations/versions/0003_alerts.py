"""alerts: where the periodic checks left off; when an alert e-mail was last enqueued

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alert_cursors")),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("email_queued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("email_queued_at")
    op.drop_table("alert_cursors")
