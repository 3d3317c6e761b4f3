"""A logical backup (pg_dump) of a seeded database restores into a fresh one with its
history whole and still append-only.

CloudNativePG's physical backups (k8s/overlays/prod) cannot run here; what they must bring
back is the same: every consent change and audit entry, row for row, and the triggers that
refuse UPDATE and DELETE on them, which a restore that skipped triggers or functions (or
ran as a user without them) would silently lose.
"""
import shutil
import subprocess

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db import Patient, db, record_consent
from tests.db.seed import APPEND_ONLY, CONFIG, seed
from tests.db.test_migrations import _differences
from tests.services import create_database, drop_database, unique_name
from web import create_app
from web.admin.audit import record

TRIGGERS = ("SELECT event_object_table, trigger_name, event_manipulation, action_statement "
            "FROM information_schema.triggers WHERE trigger_schema = 'public' ORDER BY 1, 2, 3")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed (Debian: postgresql-client)"
    return path


def _rows(table: str) -> list:
    return [tuple(row) for row in db.session.execute(text(f'SELECT * FROM "{table}" ORDER BY id'))]


def _snapshot() -> dict:
    found = {table: _rows(table) for table in (*APPEND_ONLY, "notifications", "patients")}
    found["triggers"] = [tuple(row) for row in db.session.execute(text(TRIGGERS))]
    found["alembic_version"] = db.session.execute(
        text("SELECT version_num FROM alembic_version")).scalar_one()
    db.session.rollback()
    return found


@pytest.fixture
def databases():
    names = [unique_name("pn_backup"), unique_name("pn_restored")]
    urls = [create_database(name) for name in names]
    apps = [create_app({**CONFIG, "DATABASE_URL": url}) for url in urls]
    yield list(zip(apps, urls))
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for name in names:
        drop_database(name)


def test_a_dump_restores_with_its_history_intact_and_append_only(databases, tmp_path):
    (source, source_url), (target, target_url) = databases
    with source.app_context():
        upgrade(revision="heads")
        seed(source)
        before = _snapshot()
    assert all(before[table] for table in APPEND_ONLY), "the seed wrote every history table"
    assert {row[1] for row in before["triggers"]} >= set(APPEND_ONLY.values())

    dump = tmp_path / "patient-notifier.dump"
    # The commands docs/operations.md gives: custom format, no owners (the restoring user
    # owns everything), one transaction so a failure leaves nothing half restored.
    subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dump),
                    source_url], check=True, capture_output=True, timeout=120)
    restored = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error",
                               "--single-transaction", "--dbname", target_url, str(dump)],
                              check=False, capture_output=True, text=True, timeout=120)
    assert restored.returncode == 0, restored.stderr

    with target.app_context():
        assert _snapshot() == before
        assert _differences(target) == []  # the schema the models (and the app) expect
        for table in APPEND_ONLY:
            for statement in (f'UPDATE "{table}" SET id = id', f'DELETE FROM "{table}"'):
                with pytest.raises(DBAPIError, match="append-only"):
                    db.session.execute(text(statement))
                db.session.rollback()
        # Sequences came back too: new history rows follow the restored ones.
        patient = db.session.execute(select(Patient)).scalar_one()
        record_consent(patient, "email", opted_out=True, source="staff", reason="asked")
        record("consent-changed", "patient", patient.id, account="frontdesk@clinic.example")
        db.session.commit()
        after = _snapshot()
        for table in ("consent_changes", "audit_log"):
            assert after[table][:-1] == before[table]
            assert after[table][-1][0] == before[table][-1][0] + 1
