"""Publish one Celery message per queued notification from several threads; print t0.

    python -m bench.celery_peer.publish --threads 8   (ids come from BENCH_DATABASE_URL)
"""
import argparse
import json
import os
import threading
import time

import psycopg2

from bench.celery_peer.tasks import celery_send


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with psycopg2.connect(os.environ["BENCH_DATABASE_URL"]) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT id FROM notifications WHERE status = 'queued' ORDER BY id")
        ids = [row[0] for row in cursor]
    celery_send.app.connection_for_write().ensure_connection()
    start = time.time()

    def publish(part):
        for notification_id in part:
            celery_send.apply_async(args=(notification_id,))

    threads = [threading.Thread(target=publish, args=(ids[i::args.threads],))
               for i in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"t0": start, "published": len(ids), "t1": time.time()}), flush=True)


if __name__ == "__main__":
    main()
