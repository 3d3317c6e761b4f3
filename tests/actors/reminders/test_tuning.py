from sqlalchemy import text

from actors.reminders.tuning import SETTINGS, tune_transaction
from db import db


def _shown(name: str) -> str:
    return db.session.scalar(text(f"SHOW {name}"))


def test_a_plans_transaction_gets_every_setting_and_the_next_transaction_none(app):
    defaults = {name: _shown(name) for name, _ in SETTINGS}
    db.session.rollback()
    tune_transaction()
    assert {name: _shown(name) for name, _ in SETTINGS} == dict(SETTINGS)
    db.session.rollback()
    assert {name: _shown(name) for name, _ in SETTINGS} == defaults


def test_the_settings_leave_the_transaction_free_to_choose_its_isolation(app):
    # A group's count sets REPEATABLE READ after them: they must not take its snapshot.
    tune_transaction()
    db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    assert _shown("transaction_isolation") == "repeatable read"
    db.session.rollback()
