"""appointments: the index by day and location carries when each was first seen

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # Every plan looks, for each of the days between today and the day it plans, for the
    # bookings first seen after that day's reminder window closed (they are recorded as
    # skipped). By day and location alone that read every appointment of those days to
    # find a few: three days of a million-appointment service were 2 s of a plan's 20,
    # and every tick of the window paid it again. With the first-seen time in the index
    # the read is of the few. The day's plan itself reads the same prefix as before.
    op.create_index("ix_appointments_local_date_location_created_at", "appointments",
                    ["local_date", "location_id", "created_at"])
    op.drop_index("ix_appointments_local_date_location", table_name="appointments")


def downgrade():
    op.create_index("ix_appointments_local_date_location", "appointments",
                    ["local_date", "location_id"])
    op.drop_index("ix_appointments_local_date_location_created_at", table_name="appointments")
