"""The per-message work every peer does: one PostgreSQL UPDATE and one HTTP POST.

Shared by the raw pika limit, the bare Dramatiq actor and the Celery peer (whose venv has
only bench/celery_peer/requirements.txt, so this module imports nothing of the project).
Settings come from BENCH_* environment variables the harness sets for the peer processes.
"""
import os
import sys

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import create_engine, text

BODY = ("Reminder: you have an appointment at Clinic 1 on Saturday 28 November at 10:30. "
        "Call +13125550123 to change it. Reply STOP to opt out.")
UPDATE = text("UPDATE notifications n SET status = 'sent', sent_at = now(), attempts = 1 "
              "FROM patients p WHERE n.id = :id AND p.id = n.patient_id RETURNING p.phone")

_state: dict = {}


def _setup() -> dict:
    if "gevent" in sys.modules:
        from gevent import monkey
        if monkey.is_module_patched("socket"):
            from psycogreen.gevent import patch_psycopg
            patch_psycopg()  # psycopg2 waits on the hub instead of blocking every greenlet
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "16"))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=concurrency))
    session.auth = (os.environ["BENCH_TWILIO_SID"], os.environ["BENCH_TWILIO_TOKEN"])
    url = os.environ["BENCH_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://")
    pool = int(os.environ.get("BENCH_POOL", "20"))
    return {"engine": create_engine(url, pool_size=pool, max_overflow=0, pool_pre_ping=True),
            "session": session,
            "url": (f"{os.environ['BENCH_TWILIO_URL']}/2010-04-01/Accounts/"
                    f"{os.environ['BENCH_TWILIO_SID']}/Messages.json")}


def send(notification_id: int) -> None:
    state = _state or _state.update(_setup()) or _state
    with state["engine"].begin() as connection:
        phone = connection.execute(UPDATE, {"id": notification_id}).scalar_one()
    response = state["session"].post(state["url"], data={
        "To": phone, "From": "+13125550199", "Body": BODY}, timeout=10)
    response.raise_for_status()
