"""A bare Dramatiq actor doing only the per-message work (bench/work.py).

    dramatiq bench.bare_dramatiq --processes 2 --threads 16      (or dramatiq-gevent)
"""
import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from bench import work

broker = RabbitmqBroker(url=os.environ["BENCH_BROKER_URL"], confirm_delivery=True)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="sms", max_retries=0)
def bare_send(notification_id: int) -> None:
    work.send(notification_id)
