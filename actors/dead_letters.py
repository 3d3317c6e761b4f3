"""Dead letters: messages Dramatiq gave up on, waiting in ``<queue>.XQ`` for 7 days.

Ops list them and replay them (``flask --app web dead-letters ...``); the minute alert check
counts them, long before Dramatiq's TTL drops them. Reading uses ``basic_get`` without
ack and closes the channel, which puts every unacked message back in its place; a replay
acks only the messages it has re-published (with publisher confirms) to their queue.
"""
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import dramatiq
import pika
from dramatiq.common import xq_name
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import select

from actors.broker import QUEUES
from db import Notification, db, raise_condition, resolve_condition, utcnow
from db.transitions import reopen_for_replay

log = logging.getLogger(__name__)
SEND_ACTOR_NAMES = {"send_priority", "send_sms", "send_email"}


@dataclass
class DeadLetter:
    queue: str
    message_id: str
    actor_name: str
    notification_id: int | None
    error: str
    died_at: datetime | None
    message: dramatiq.Message | None = None

    def age_seconds(self, now=None) -> float | None:
        if self.died_at is None:
            return None
        return ((now or utcnow()) - self.died_at).total_seconds()


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown (failed on its first attempt)"


def _died_at(properties, message: dramatiq.Message) -> datetime | None:
    for death in (properties.headers or {}).get("x-death", []) or []:
        when = death.get("time")
        if isinstance(when, datetime):
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    if message.message_timestamp:
        return datetime.fromtimestamp(message.message_timestamp / 1000, UTC)
    return None


def _parse(queue: str, properties, body: bytes) -> DeadLetter:
    try:
        message = dramatiq.Message.decode(body)
    except Exception:  # noqa: BLE001  (a foreign or corrupt body is listed, never dropped)
        return DeadLetter(queue, "?", "?", None, "undecodable message body", None)
    args = message.args or ()
    notification_id = args[0] if message.actor_name in SEND_ACTOR_NAMES and args else None
    return DeadLetter(queue, message.message_id, message.actor_name, notification_id,
                      _last_line(message.options.get("traceback")),
                      _died_at(properties, message), message)


def _connect(broker_url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(broker_url))


def _depth(channel, queue: str) -> int | None:
    """Messages in ``queue``.XQ, or None when it does not exist yet (nothing died there).
    A missing queue closes the channel, so the caller opens a fresh one per queue."""
    try:
        return channel.queue_declare(xq_name(queue), passive=True).method.message_count
    except ChannelClosedByBroker:
        return None


def _fetch(channel, queue: str, limit: int | None):
    """Up to ``limit`` (all, when None) messages of ``queue``.XQ, unacked, in order."""
    depth = _depth(channel, queue)
    if depth is None:
        return None
    fetched = []
    for _ in range(depth if limit is None else min(depth, limit)):
        method, properties, body = channel.basic_get(xq_name(queue), auto_ack=False)
        if method is None:
            break
        fetched.append((method, properties, body))
    return fetched


def _queues(queue: str | None) -> tuple[str, ...]:
    return (queue,) if queue else QUEUES


def _fetched_per_queue(connection, queue: str | None, limit: int | None):
    """(queue, its channel, its fetched dead letters) for each queue that has an XQ; closing
    the channel afterwards puts back whatever was not acked."""
    for name in _queues(queue):
        channel = connection.channel()
        fetched = _fetch(channel, name, limit)
        if fetched is None:
            continue
        yield name, channel, fetched
        channel.close()


def dead_letter_counts(broker_url: str) -> dict[str, int]:
    """How many messages sit in each ``<queue>.XQ``."""
    counts = {}
    with _connect(broker_url) as connection:
        for queue in QUEUES:
            channel = connection.channel()
            depth = _depth(channel, queue)
            counts[queue] = depth or 0
            if depth is not None:
                channel.close()
    return counts


def list_dead_letters(broker_url: str, *, queue: str | None = None,
                      limit: int | None = None) -> list[DeadLetter]:
    letters = []
    with _connect(broker_url) as connection:
        for name, _, fetched in _fetched_per_queue(connection, queue, limit):
            letters.extend(_parse(name, properties, body) for _, properties, body in fetched)
    return letters


def _matches(letter: DeadLetter, wanted: str | None) -> bool:
    return wanted is None or wanted in (letter.message_id, str(letter.notification_id))


def _reopen(letter: DeadLetter) -> None:
    """Make the notification sendable again if it failed only for running out of retries."""
    if letter.notification_id is None:
        return
    notification = db.session.execute(
        select(Notification).where(Notification.id == letter.notification_id)
        .with_for_update()).scalar_one_or_none()
    if notification is not None and reopen_for_replay(notification, source="dead-letter-replay"):
        log.info("notification re-opened for replay",
                 extra={"notification_id": notification.id, "message_id": letter.message_id})
    db.session.commit()


def replay_dead_letters(broker_url: str, *, queue: str | None = None,
                        wanted: str | None = None, on_replayed=None) -> list[DeadLetter]:
    """Put dead letters back on their queue with a fresh retry budget; returns them.

    ``wanted`` is a Dramatiq message id or a notification id; None replays all.
    ``on_replayed(letter)`` runs after each one (the CLI's progress).
    """
    replayed = []
    with _connect(broker_url) as connection:
        for name, channel, fetched in _fetched_per_queue(connection, queue, None):
            channel.confirm_delivery()
            for method, properties, body in fetched:
                letter = _parse(name, properties, body)
                if letter.message is None or not _matches(letter, wanted):
                    continue
                _reopen(letter)
                options = {k: v for k, v in letter.message.options.items()
                           if k not in ("retries", "traceback", "eta")}
                fresh = letter.message.copy(queue_name=name, options=options)
                channel.basic_publish(
                    exchange="", routing_key=name, body=fresh.encode(),
                    properties=pika.BasicProperties(delivery_mode=2,
                                                    priority=options.get("broker_priority")))
                channel.basic_ack(method.delivery_tag)
                replayed.append(letter)
                if on_replayed is not None:
                    on_replayed(letter)
                log.info("dead letter replayed", extra={
                    "queue": name, "message_id": letter.message_id,
                    "actor": letter.actor_name, "notification_id": letter.notification_id})
    return replayed


def check_dead_letters(broker_url: str) -> None:
    """Raise ``dead-letters:<queue>`` while its XQ holds messages; resolve when empty."""
    for queue, depth in dead_letter_counts(broker_url).items():
        key = f"dead-letters:{queue}"
        if depth:
            samples = [letter.notification_id or letter.message_id
                       for letter in list_dead_letters(broker_url, queue=queue, limit=10)]
            alert = raise_condition(key, "dead-letters", f"{depth} message(s) wait in the "
                                    f"dead-letter queue {xq_name(queue)}",
                                    sample_ids=samples, count=0)
            # The count is the queue's depth, so a digest goes out when more arrive.
            alert.count = max(alert.count, depth)
        else:
            resolve_condition(key)
