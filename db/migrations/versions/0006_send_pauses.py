"""send pauses: sending stopped for one clinic or one channel by ops

Revision ID: 0006
Revises: 0007

Numbered 0006 but chained after 0007, which was the head when this was written: the chain
order, not the number, is what Alembic follows.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "send_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("paused_by", sa.String(length=320), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(location_id IS NULL) <> (channel IS NULL)",
                           name=op.f("ck_send_pauses_one_target")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"],
                                name=op.f("fk_send_pauses_location_id_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_pauses")),
        sa.UniqueConstraint("channel", name=op.f("uq_send_pauses_channel")),
        sa.UniqueConstraint("location_id", name=op.f("uq_send_pauses_location_id")),
    )


def downgrade():
    op.drop_table("send_pauses")
