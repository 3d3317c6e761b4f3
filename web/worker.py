"""Entry point of the worker processes: ``dramatiq web.worker --queues priority``.

It builds the app (settings, database, broker) and imports every module that declares
actors, so that a worker can run any message it is handed.
"""
from web import create_app
from web.observability import adopt_worker_logging

app = create_app()
adopt_worker_logging()
broker = app.extensions["dramatiq"]

from web.metrics import add_worker_metrics  # noqa: E402  (needs the app first)
add_worker_metrics(app, broker)
