"""The Celery peer: the same send as a Celery 5 task, RabbitMQ broker, publisher confirms.

    celery -A bench.celery_peer.tasks worker -Q sms -P gevent -c 16
Defaults as a user would have them, except publisher confirms (as Dramatiq's
confirm_delivery) and no result backend (the send returns nothing).
"""
import os

from celery import Celery

from bench import work

app = Celery("celery_peer", broker=os.environ["BENCH_BROKER_URL"])
app.conf.update(
    broker_transport_options={"confirm_publish": True},
    task_ignore_result=True,
    task_default_queue="sms",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="celery_send")
def celery_send(notification_id: int) -> None:
    work.send(notification_id)
