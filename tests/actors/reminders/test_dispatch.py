"""Publishing a dispatched batch: every row carried once, on its channel's queue."""
import dramatiq

from actors.reminders.dispatch import publish


def published(broker, queue: str) -> list[int]:
    return sorted(dramatiq.Message.decode(data).args[0]
                  for data in list(broker.queues[queue].queue))


def test_one_reminder_per_message_published_from_several_threads_is_one_message_per_row(
        make_app):
    app = make_app(DISPATCH_ENQUEUE_THREADS=4, REMINDERS_PER_MESSAGE=1)
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    rows = [(i, "email" if i % 3 == 0 else "sms") for i in range(1, 123)]  # not a multiple of 4
    with app.app_context():
        publish(app, rows)
    assert published(broker, "sms") == [i for i, channel in rows if channel == "sms"]
    assert published(broker, "email") == [i for i, channel in rows if channel == "email"]
