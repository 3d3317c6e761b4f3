"""notifications: the dedupe key's own unique constraint dropped (the contract half of 0015)

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # The release before this one (0015) names the key per appointment in ON CONFLICT, and a
    # check makes every key name its appointment, so the key alone is held already: its own
    # index is an entry in text order, all over the index, paid by every planned reminder.
    op.drop_constraint("uq_notifications_dedupe_key", "notifications", type_="unique")


def downgrade():
    # Built again over the whole table, writes to notifications waiting for it: it cannot
    # fail, since no two rows share a key (the unique key per appointment and the check).
    op.create_unique_constraint("uq_notifications_dedupe_key", "notifications", ["dedupe_key"])
