"""The system's worker under gevent: ``dramatiq-gevent bench.gevent_worker --queues sms``.

Same as web.worker, with psycopg2 made cooperative first (psycogreen), so hundreds of
greenlets can wait on the provider without blocking each other on the database.
"""
from gevent import monkey

if monkey.is_module_patched("socket"):
    from psycogreen.gevent import patch_psycopg
    patch_psycopg()

from web.worker import app, broker  # noqa: F401
