"""Raising an alert: one row per key, however many raise it at once."""
import threading

from sqlalchemy import select

from db import Alert, db, raise_condition


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
    # The second raiser waits for this uncommitted row instead of inserting its own.
    assert not second_done.wait(0.5)
    db.session.commit()
    thread.join(10)
    assert failures == []
    db.session.expire_all()
    (alert,) = db.session.scalars(select(Alert)).all()
    assert (alert.key, alert.count, alert.summary, alert.status) == (
        "reminder-overflow:k", 5, "second", "open")
