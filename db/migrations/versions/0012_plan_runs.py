"""plan runs: a plan is one event; planned reminders point at their run, no history row each

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The tables whose rows notifications name, and the column that names them.
PARENTS = {"appointments": "appointment_id", "patients": "patient_id"}


def upgrade():
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"],
                                name=op.f("fk_plan_runs_location_id_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_runs")),
    )
    op.create_index(op.f("ix_plan_runs_location_id"), "plan_runs", ["location_id"])
    # The first history line of every reminder a run planned: append-only like the events
    # (refuse_history_change() is migration 0001's).
    op.execute("CREATE TRIGGER plan_runs_append_only BEFORE UPDATE OR DELETE ON plan_runs "
               "FOR EACH ROW EXECUTE FUNCTION refuse_history_change()")
    op.add_column("notifications", sa.Column("plan_run_id", sa.BigInteger(), nullable=True))
    # Every index on notifications costs an entry per planned reminder; only sent rows have
    # a provider's message id, so the lookup by it needs entries for those alone.
    op.drop_index("ix_notifications_provider_message_id", table_name="notifications")
    op.create_index("ix_notifications_provider_message_id", "notifications",
                    ["provider_message_id"],
                    postgresql_where=sa.text("provider_message_id IS NOT NULL"))
    # A foreign key check locks the parent row: planning a million reminders locked (and
    # WAL-logged) a million appointments and patients, half of its time. What the keys
    # guarded against, a notification whose appointment or patient is gone, the trigger
    # below still refuses; every notification is created by db.creation from rows that exist.
    op.drop_constraint("fk_notifications_appointment_id_appointments", "notifications",
                       type_="foreignkey")
    op.drop_constraint("fk_notifications_patient_id_patients", "notifications",
                       type_="foreignkey")
    op.execute("""
        CREATE FUNCTION refuse_orphaning_notifications() RETURNS trigger AS $$
        DECLARE
            held boolean;
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
                RETURN NEW;
            END IF;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM notifications WHERE %I = $1)',
                           TG_ARGV[0]) INTO held USING OLD.id;
            IF held THEN
                RAISE EXCEPTION '% % still has notifications', TG_TABLE_NAME, OLD.id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$ LANGUAGE plpgsql""")
    for table, column in PARENTS.items():
        op.execute(f"CREATE TRIGGER {table}_keep_notifications BEFORE DELETE OR UPDATE OF id "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION "
                   f"refuse_orphaning_notifications('{column}')")
    # Existing history stays as it is: reminders planned before this revision keep their
    # "created -> planned" event and have no run.


def downgrade():
    # History is the audit trail: each reminder a run planned gets its "created -> planned"
    # line back as an event, at the run's time and by its source. Their ids come after the
    # events written since (the table is append-only, nothing is renumbered): the admin's
    # timeline orders by time and shows the line first; a reader ordering by id alone sees
    # it last.
    op.execute("""
        INSERT INTO notification_events (notification_id, from_status, to_status, at, source)
        SELECT n.id, NULL, 'planned', r.at, r.source
        FROM notifications n JOIN plan_runs r ON r.id = n.plan_run_id
        ORDER BY r.at, n.id""")
    op.drop_column("notifications", "plan_run_id")
    for table in PARENTS:
        op.execute(f"DROP TRIGGER {table}_keep_notifications ON {table}")
    op.execute("DROP FUNCTION refuse_orphaning_notifications()")
    op.create_foreign_key("fk_notifications_appointment_id_appointments", "notifications",
                          "appointments", ["appointment_id"], ["id"])
    op.create_foreign_key("fk_notifications_patient_id_patients", "notifications",
                          "patients", ["patient_id"], ["id"])
    op.drop_index("ix_notifications_provider_message_id", table_name="notifications")
    op.create_index("ix_notifications_provider_message_id", "notifications",
                    ["provider_message_id"])
    op.execute("DROP TRIGGER plan_runs_append_only ON plan_runs")
    op.drop_index(op.f("ix_plan_runs_location_id"), table_name="plan_runs")
    op.drop_table("plan_runs")
