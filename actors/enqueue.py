"""Enqueue after commit (docs/architecture.md, rule 2): the worker must find its row."""
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "pending_messages"


def enqueue_after_commit(session, actor, *args, **options) -> None:
    """Send ``actor(*args)`` once ``session`` commits; forget it if it rolls back."""
    target = session() if callable(session) and not isinstance(session, Session) else session
    target.info.setdefault(_KEY, []).append((actor, args, options))


@event.listens_for(Session, "after_commit")
def _send_pending(session):
    pending = session.info.pop(_KEY, [])
    for actor, args, options in pending:
        try:
            actor.send_with_options(args=args, **options)
        except Exception as error:  # noqa: BLE001 - any failure: the sweep re-enqueues it
            # The row is committed in a state the sweep re-enqueues; losing the
            # message here delays it, it does not lose it: a WARNING, not an error
            # with a traceback per request while RabbitMQ is away.
            log.warning("enqueue after commit failed; the sweep re-enqueues it",
                        extra={"actor": actor.actor_name, "error": type(error).__name__})


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_KEY, None)
