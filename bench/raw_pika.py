"""The limit: raw pika, publisher confirms and consumer acks, no framework at all.

    python -m bench.raw_pika --concurrency 16        (a consumer; the harness publishes)
Each consumer process hands messages to a pool of threads doing bench/work.py and acks
from the connection's thread once the work is done.
"""
import argparse
import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pika

from bench import work

QUEUE = "sms"


def declare(channel) -> None:
    channel.queue_declare(QUEUE, durable=True)


def publish(url: str, ids: list[int], threads: int = 8) -> None:
    """Persistent messages, each confirmed by the broker, from ``threads`` connections."""
    def run(part):
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.confirm_delivery()
        declare(channel)
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        for notification_id in part:
            channel.basic_publish("", QUEUE, json.dumps([notification_id]).encode(),
                                  properties, mandatory=False)
        connection.close()
    workers = [threading.Thread(target=run, args=(ids[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def consume(url: str, concurrency: int) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    declare(channel)
    channel.basic_qos(prefetch_count=concurrency * 2)
    pool = ThreadPoolExecutor(concurrency)

    def handle(tag, body):
        try:
            work.send(json.loads(body)[0])
            connection.add_callback_threadsafe(lambda: channel.basic_ack(tag))
        except Exception:  # noqa: BLE001 (any failure: back to the queue, as a framework would)
            connection.add_callback_threadsafe(lambda: channel.basic_nack(tag, requeue=True))

    def on_message(ch, method, properties, body):
        pool.submit(handle, method.delivery_tag, body)

    channel.basic_consume(QUEUE, on_message)
    signal.signal(signal.SIGTERM, lambda *_: connection.add_callback_threadsafe(
        channel.stop_consuming))
    channel.start_consuming()
    pool.shutdown(wait=False, cancel_futures=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int,
                        default=int(os.environ.get("BENCH_CONCURRENCY", "16")))
    args = parser.parse_args()
    consume(os.environ["BENCH_BROKER_URL"], args.concurrency)


if __name__ == "__main__":
    main()
