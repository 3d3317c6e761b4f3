"""Several reminders in one broker message: what a message costs, paid once per batch.

At a million reminders a day the broker's share of a send (the dispatch's publish and
confirm, RabbitMQ's delivery and ack, Dramatiq's consume and middleware) was about a third
of the machine's CPU per reminder. So the dispatch publishes the reminders of its batch
``REMINDERS_PER_MESSAGE`` to a message on their channel's queue, ids only (rule 3), and a
batch actor sends them one after another through the very code a single message runs
(``actors.delivery``), claiming them in one transaction and recording their answers with the
process's next batch, all committed before the message is acknowledged. Change notices keep
one message each on ``priority``.

A reminder of a batch that must be tried again leaves the batch as its own message: the
message Dramatiq's Retries middleware would have re-enqueued had it come alone (the same
retry count, backoff, deadline check and dead-letter actor), while the rest of the batch
goes on. A batch redelivered after a crash sends nothing twice: each claim finds its
reminder sent, or its lease held (and that reminder waits alone for the lease).
"""
import logging
from collections import defaultdict

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Retries
from flask import current_app

from actors.bookkeeping import claim_all
from actors.broker import actor
from actors.delivery import (
    SEND_ACTORS,
    TIME_LIMIT_MS,
    deliver_claimed,
    send_options,
    wait_recorded,
)
from actors.retries import own_message
from db import db

log = logging.getLogger(__name__)


def _send_each(queue: str, notification_ids) -> None:
    if not isinstance(notification_ids, list) or not all(
            type(i) is int for i in notification_ids):  # a malformed message
        raise TypeError("a batch message carries a list of notification ids")
    options = send_options(current_app.config, queue)
    # One claim transaction for the batch and its answers recorded as it goes: a thread
    # waits for the bookkeeping once per message, not twice per reminder.
    claims = claim_all(notification_ids)
    answers = []
    for notification_id, claimed in zip(notification_ids, claims, strict=True):
        own = dict(options)  # its message is made only if it has to leave the batch
        answer = _one(queue, notification_id, own, deliver_claimed, claimed)
        if answer is not None:
            answers.append((notification_id, own, *answer))
    sent = defaultdict(list)
    for notification_id, own, pending, provider in answers:  # all committed before the ack
        if _one(queue, notification_id, own, wait_recorded, pending):
            sent[provider].append(notification_id)
    # One line per batch and provider, not per reminder: a line per reminder was ~11% of
    # a worker's profile samples at 0 ms; the history holds each reminder's own.
    for provider, ids in sent.items():
        log.info("reminders sent", extra={"notification_ids": ids, "channel": queue,
                                          "provider": provider})


def _one(queue: str, notification_id: int, own: dict, step, *args):
    """``step`` for one reminder of the batch; if it fails, that reminder leaves the batch
    as its own message (``own``: that message's options) and the rest go on."""
    with own_message(own):
        try:
            return step(notification_id, *args)
        except Exception as error:  # this reminder's failure, not the batch's
            if not isinstance(error, dramatiq.Retry):
                log.exception("send failed; it will be retried on its own",
                              extra={"notification_id": notification_id})
            alone = SEND_ACTORS[queue].message_with_options(args=(notification_id,), **own)
            _retry_alone(alone, error)
            return None
        finally:
            db.session.remove()  # the next reminder starts from a clean session


def _retry_alone(message: dramatiq.Message, error: Exception) -> None:
    """What Dramatiq does with a message that raised ``error``, done for ``message``: so
    the reminder is retried, or given up on, exactly as if it had been sent alone. Called
    while ``error`` is being handled (the middleware records its traceback)."""
    broker = current_app.extensions["dramatiq"]
    retries = next(m for m in broker.middleware if isinstance(m, Retries))
    retries.after_process_message(broker, MessageProxy(message), exception=error)


def send_sms_reminders(notification_ids: list) -> None:
    _send_each("sms", notification_ids)


def send_email_reminders(notification_ids: list) -> None:
    _send_each("email", notification_ids)


#: The batch's own retries are for what is not one reminder's failure (a broker that went
#: away while a reminder was re-enqueued, a time limit): its reminders are then tried
#: again, and those already sent are skipped by their claims.
BATCH_ACTORS = {
    "sms": actor(send_sms_reminders, actor_name="send_sms_batch", queue_name="sms"),
    "email": actor(send_email_reminders, actor_name="send_email_batch", queue_name="email"),
}


def messages(config, rows) -> list[tuple[dramatiq.Actor, tuple, dict]]:
    """(actor, args, options) of the messages that carry ``rows`` ((id, queue) pairs in due
    order): each ``sms`` and ``email`` batch of ``REMINDERS_PER_MESSAGE`` in one message,
    every other row (``priority``) in its own."""
    per_message = config["REMINDERS_PER_MESSAGE"]
    options = {queue: send_options(config, queue) for queue in SEND_ACTORS}
    out, batches = [], {queue: [] for queue in BATCH_ACTORS}
    for notification_id, queue in rows:
        if queue not in batches:
            out.append((SEND_ACTORS[queue], (notification_id,), options[queue]))
            continue
        batch = batches[queue]
        batch.append(notification_id)
        if len(batch) == per_message:
            out.append(_batch_message(queue, batch, options[queue]))
            batches[queue] = []
    out.extend(_batch_message(queue, batch, options[queue])
               for queue, batch in batches.items() if batch)
    return out


def _batch_message(queue: str, ids: list[int], options: dict):
    # A lone reminder needs no batch; a batch's time limit grows with its reminders.
    if len(ids) == 1:
        return SEND_ACTORS[queue], (ids[0],), options
    return (BATCH_ACTORS[queue], (ids,),
            {**options, "time_limit": TIME_LIMIT_MS * len(ids)})
