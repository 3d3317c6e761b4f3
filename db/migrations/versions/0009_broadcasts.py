"""broadcasts: one clinic's message to every patient booked there on one local day

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("template", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=True),
        sa.Column("channels", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=255), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("template IN ('closure', 'delay', 'text')",
                           name=op.f("ck_broadcasts_template")),
        sa.CheckConstraint("template <> 'text' OR text IS NOT NULL",
                           name=op.f("ck_broadcasts_text_given")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"],
                                name=op.f("fk_broadcasts_location_id_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(op.f("ix_broadcasts_location_id"), "broadcasts", ["location_id"])


def downgrade():
    op.drop_index(op.f("ix_broadcasts_location_id"), table_name="broadcasts")
    op.drop_table("broadcasts")
