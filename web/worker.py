"""Entry point of the worker processes: ``dramatiq web.worker --queues priority``.

It builds the app (settings, database, broker) and imports every module that declares
actors, so that a worker can run any message it is handed. The Procfile starts it through
``python -m web.worker_model``, which picks threads or gevent (WORKER_MODEL).
"""
from web.worker_model import announce, make_database_driver_cooperative

# Before create_app: under gevent psycopg2 must be cooperative before any connection.
model = make_database_driver_cooperative()

from web import create_app
from web.observability import adopt_worker_logging

app = create_app()
adopt_worker_logging()
announce(model, app.config)
broker = app.extensions["dramatiq"]

from web.metrics import add_worker_metrics  # needs the app first

add_worker_metrics(app, broker)
