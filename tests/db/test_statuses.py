"""The status vocabulary: defined once, every status reachable or terminal, enforced by the database."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from db import db
from db.statuses import (
    AWAITING_RECEIPT,
    NOT_DUE,
    NOT_REACHED,
    PENDING,
    REACHED,
    STATUSES,
)
from db.transitions import ALLOWED, REOPEN, TERMINAL
from tests.factories import appointment, post_event


def test_every_status_moves_on_or_is_terminal_and_is_in_one_group():
    for status in STATUSES:
        assert (status in ALLOWED) != (status in TERMINAL), status
    targets = {to for moves in ALLOWED.values() for to in moves} | set(REOPEN.values())
    assert targets <= set(STATUSES)
    groups = [PENDING, NOT_DUE, REACHED, NOT_REACHED, AWAITING_RECEIPT]
    assert sorted(s for group in groups for s in group) == sorted(STATUSES)


@pytest.mark.parametrize("statement", [
    "UPDATE notifications SET status = 'sent-ish'",
    ("INSERT INTO notification_events (notification_id, to_status, at, source) "
    "SELECT id, 'bogus', now(), 'test' FROM notifications"),
])
def test_the_database_refuses_a_status_outside_the_vocabulary(client, statement):
    post_event(client, "appointment.created", appointment())
    from tests.factories import moved
    post_event(client, "appointment.updated", moved(appointment(), hours=1))
    assert db.session.execute(text("SELECT count(*) FROM notifications")).scalar() > 0
    with pytest.raises(IntegrityError, match="ck_notification"):
        db.session.execute(text(statement))
    db.session.rollback()
