"""clinic settings: a location's own reminder window, days before, quiet hours, help contact

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clinic_settings",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("reminder_window", sa.String(length=11), nullable=True),
        sa.Column("reminder_days_before", sa.Integer(), nullable=True),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("help_contact", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], ondelete="CASCADE",
                                name=op.f("fk_clinic_settings_location_id_locations")),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_clinic_settings")),
    )


def downgrade():
    op.drop_table("clinic_settings")
