"""Binding actors to the broker the app configures, and running them inside the app.

Actors are declared at import time against ``registry``, a StubBroker that only collects
declarations; ``init_broker`` builds the real broker from the app's settings (RabbitMQ, or
a StubBroker in dev mode) and moves every actor onto it. This keeps configuration out of
import time (docs/architecture.md, rule 6) without giving up Dramatiq's plain
``@actor`` decorator.
"""
import functools
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Middleware
from periodiq import PeriodiqMiddleware

QUEUES = ("priority", "sms", "email", "default")


def _middleware() -> list[Middleware]:
    """Added to Dramatiq's default middleware on every broker, the registry included."""
    return [PeriodiqMiddleware(), CurrentMessage()]


registry = StubBroker()
for _extra in _middleware():
    registry.add_middleware(_extra)

#: ``@actor(queue_name=...)`` declares a Dramatiq actor that ``init_broker`` will rebind.
actor = functools.partial(dramatiq.actor, broker=registry)


class AppContext(Middleware):
    """Run every message inside the Flask app context (config, database session)."""

    def __init__(self, app):
        self.app = app
        self._contexts = {}

    def before_process_message(self, broker, message):
        context = self.app.app_context()
        context.push()
        self._contexts[message.message_id] = context

    def after_process_message(self, broker, message, *, result=None, exception=None):
        context = self._contexts.pop(message.message_id, None)
        if context is not None:
            from db import db  # the session belongs to this thread's context
            db.session.remove()
            context.pop()

    after_skip_message = after_process_message


def _with_heartbeat(url: str, seconds: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("heartbeat", str(seconds))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_broker(app) -> dramatiq.Broker:
    config = app.config
    if config["BROKER_URL"]:
        broker = RabbitmqBroker(
            url=_with_heartbeat(config["BROKER_URL"], config["BROKER_HEARTBEAT_SECONDS"]),
            confirm_delivery=True,
            middleware=None,
        )
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    for middleware in _middleware():
        broker.add_middleware(middleware)
    broker.add_middleware(AppContext(app))
    if config.get("WORKER_HEARTBEAT_FILE"):  # the worker pods' liveness probe (actors/heartbeat.py)
        from actors.heartbeat import Heartbeat
        broker.add_middleware(Heartbeat(config["WORKER_HEARTBEAT_FILE"],
                                        interval=config["WORKER_HEARTBEAT_INTERVAL_SECONDS"],
                                        stall_grace=config["WORKER_STALL_GRACE_SECONDS"]))
    return broker


def bind_actors(broker: dramatiq.Broker) -> None:
    """Make ``broker`` Dramatiq's global one and the one every actor sends through (a
    process with several apps, as the benchmark has, binds the one it is about to use)."""
    dramatiq.set_broker(broker)
    for declared in list(registry.actors.values()):
        declared.broker = broker


def init_broker(app) -> dramatiq.Broker:
    """Create the app's broker, make it Dramatiq's global one and bind every actor to it."""
    broker = build_broker(app)
    bind_actors(broker)
    for declared in list(registry.actors.values()):
        broker.declare_actor(declared)
    for queue in QUEUES:
        broker.declare_queue(queue)
    app.extensions["dramatiq"] = broker
    return broker
