"""Raising an alert: one row per key, however many raise it at once."""
import threading

from sqlalchemy import select

from db import Alert, db, raise_condition
from tests import services


def test_two_first_raisers_of_a_key_at_once_make_one_alert_counting_both(app):
    # A zone's parts planned on two connections may both find their sends too late.
    first_raised, second_done, failures = threading.Event(), threading.Event(), []

    def second():
        with app.app_context():
            try:
                first_raised.wait(10)
                raise_condition("reminder-overflow:k", "reminder-overflow", "second", count=2)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported to the test below
                failures.append(error)
            finally:
                db.session.remove()
                second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    raise_condition("reminder-overflow:k", "reminder-overflow", "first", count=3)
    db.session.flush()
    first_raised.set()
    # The second raiser waits for this uncommitted row (a lock wait) before it commits.
    watcher = services.pg_connect(app.config["DATABASE_URL"])
    watcher.autocommit = True
    with watcher.cursor() as cursor:
        def waiting():
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
            return cursor.fetchone()[0]
        services.wait_until(lambda: waiting() or second_done.is_set(), what="the second raiser")
    watcher.close()
    db.session.commit()
    thread.join(10)
    assert failures == []
    db.session.expire_all()
    (alert,) = db.session.scalars(select(Alert)).all()
    assert (alert.key, alert.count, alert.summary, alert.status) == (
        "reminder-overflow:k", 5, "second", "open")
