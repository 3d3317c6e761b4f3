"""clinic languages: the languages a location's messages are offered in

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # "en,es": comma-separated language codes, the first is the clinic's default.
    # NULL: the clinic follows the global language fallback.
    op.add_column("clinic_settings", sa.Column("languages", sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column("clinic_settings", "languages")
