"""notifications: the e-mail fallback's link to its SMS checked by a trigger, not a foreign key

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # A foreign key's check is an AFTER trigger queued and fired for every inserted row,
    # even one whose column is NULL: every planned reminder paid it (a tenth of the rows'
    # write) for the few fallbacks that set it. A trigger with a WHEN clause is not even
    # queued for a NULL. It checks what the key checked, locking the SMS as the key did
    # (FOR KEY SHARE), and the trigger of 0012 refuses to delete or renumber an SMS that a
    # fallback points at.
    op.drop_constraint("fk_notifications_fallback_of_id_notifications", "notifications",
                       type_="foreignkey")
    op.execute("""
        CREATE FUNCTION refuse_fallback_without_original() RETURNS trigger AS $$
        BEGIN
            PERFORM 1 FROM notifications WHERE id = NEW.fallback_of_id FOR KEY SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'notification % does not exist', NEW.fallback_of_id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER notifications_fallback_has_original "
               "BEFORE INSERT OR UPDATE OF fallback_of_id ON notifications FOR EACH ROW "
               "WHEN (NEW.fallback_of_id IS NOT NULL) "
               "EXECUTE FUNCTION refuse_fallback_without_original()")
    op.execute("CREATE TRIGGER notifications_keep_fallbacks BEFORE DELETE OR UPDATE OF id "
               "ON notifications FOR EACH ROW "
               "EXECUTE FUNCTION refuse_orphaning_notifications('fallback_of_id')")


def downgrade():
    op.execute("DROP TRIGGER notifications_keep_fallbacks ON notifications")
    op.execute("DROP TRIGGER notifications_fallback_has_original ON notifications")
    op.execute("DROP FUNCTION refuse_fallback_without_original()")
    op.create_foreign_key("fk_notifications_fallback_of_id_notifications", "notifications",
                          "notifications", ["fallback_of_id"], ["id"])
