"""staff clinics: the locations a staff or viewer account may see, calls made, and each
appointment change before -> after

Revision ID: 0008
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # By the location's external id, as staff and the CLI name it: an account may be set up
    # for a clinic before the first pull from the booking system has brought it in.
    op.create_table(
        "staff_locations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("location_external_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE",
                                name=op.f("fk_staff_locations_user_id_staff_users")),
        sa.PrimaryKeyConstraint("user_id", "location_external_id",
                                name=op.f("pk_staff_locations")),
    )
    op.create_table(
        "staff_calls",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_staff_calls_appointment_id_appointments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_calls")),
    )
    op.create_index(op.f("ix_staff_calls_local_date"), "staff_calls", ["local_date"])
    op.create_table(
        "appointment_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("to_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_appointment_changes_appointment_id_appointments")),
        sa.ForeignKeyConstraint(["from_location_id"], ["locations.id"],
                                name=op.f("fk_appointment_changes_from_location_id_locations")),
        sa.ForeignKeyConstraint(["to_location_id"], ["locations.id"],
                                name=op.f("fk_appointment_changes_to_location_id_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_changes")),
    )
    op.create_index(op.f("ix_appointment_changes_appointment_id"), "appointment_changes",
                    ["appointment_id"])


def downgrade():
    op.drop_index(op.f("ix_appointment_changes_appointment_id"),
                  table_name="appointment_changes")
    op.drop_table("appointment_changes")
    op.drop_index(op.f("ix_staff_calls_local_date"), table_name="staff_calls")
    op.drop_table("staff_calls")
    op.drop_table("staff_locations")
