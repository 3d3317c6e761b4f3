"""Dispatch: reminders that are due move to ``queued`` in batches, then go to their queue.

Each batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and committed before any
message is published (docs/architecture.md, rule 2), so two ticks never claim the same row
and a worker always finds the row it is sent. A crash between commit and publish leaves rows ``queued``;
the sweep re-enqueues them, and the send actor's guards make a duplicate message harmless.
"""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from actors.batches import messages
from actors.pauses import not_paused
from db import Notification, db, move_many

log = logging.getLogger(__name__)


def publish(app, rows) -> None:
    """Send the messages that carry these (id, queue) rows (actors.batches: reminders
    ``REMINDERS_PER_MESSAGE`` to a message), from several threads (one confirm each)."""
    threads = app.config["DISPATCH_ENQUEUE_THREADS"]
    outgoing = messages(app.config, rows)

    def send(message):
        send_actor, args, options = message
        send_actor.send_with_options(args=args, **options)

    if len(outgoing) < 50 or threads == 1:
        for message in outgoing:
            send(message)
        return
    # A pool that lives as long as the app: the broker keeps one channel per thread.
    pool = app.extensions.get("reminder_publishers")
    if pool is None:
        pool = app.extensions["reminder_publishers"] = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="reminder-publish")
    # One task per thread, each its stripe of the batch (still in due order): a thread pool
    # ignores map's chunksize, and a future per message cost more than its publish did.
    list(pool.map(lambda stripe: [send(message) for message in stripe],
                  [outgoing[i::threads] for i in range(threads)]))


def release_held(now: datetime, *, batch_size: int) -> int:
    """Change notices held for a clinic's quiet hours whose hours are over: to ``priority``."""
    app = current_app._get_current_object()
    due = (select(Notification.id, Notification.status)
           .where(Notification.status == "planned", Notification.kind != "reminder",
                  Notification.due_at <= now, not_paused())
           .order_by(Notification.due_at).limit(batch_size))
    rows = [(row.id, "priority") for row in
            move_many(due, to="queued", source="dispatch", now=now)]
    db.session.commit()
    if rows:
        publish(app, rows)
        log.info("held notices released", extra={"count": len(rows)})
    return len(rows)


def dispatch(now: datetime, *, batch_size: int | None = None, after_commit=None) -> int:
    """Queue and publish every reminder due at ``now``; returns how many.

    ``after_commit(rows)`` runs between a batch's commit and its publishing (tests use it
    to kill the process at the worst moment).
    """
    app = current_app._get_current_object()
    batch_size = batch_size or app.config["DISPATCH_BATCH_SIZE"]
    release_held(now, batch_size=batch_size)
    total = 0
    while True:
        due = (select(Notification.id, Notification.status)
               .where(Notification.status == "planned", Notification.kind == "reminder",
                      Notification.due_at <= now, not_paused())
               .order_by(Notification.due_at).limit(batch_size))
        rows = [(row.id, row.channel) for row in
                move_many(due, to="queued", source="dispatch", now=now)]
        db.session.commit()
        if not rows:
            break
        if after_commit is not None:
            after_commit(rows)
        publish(app, rows)
        total += len(rows)
        if len(rows) < batch_size:
            break
    if total:
        log.info("reminders dispatched", extra={"count": total})
    return total
