"""The per-message work every peer does: one PostgreSQL UPDATE and one HTTP POST.

Shared by the raw pika limit, the bare Dramatiq actor and the Celery peer (whose venv has
only bench/celery_peer/requirements.txt, so this module imports nothing of the project).
Settings come from BENCH_* environment variables the harness sets for the peer processes.
The POST goes through requests, as such an actor is usually written; ``BENCH_HTTP=urllib3``
(the ``bare-urllib3`` peer) posts through urllib3's pool directly, as the system's Twilio
client does, so that the HTTP client is not what a ratio measures.
"""
import os
import sys
from urllib.parse import urlencode

import requests
import urllib3
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
    auth = (os.environ["BENCH_TWILIO_SID"], os.environ["BENCH_TWILIO_TOKEN"])
    url = (f"{os.environ['BENCH_TWILIO_URL']}/2010-04-01/Accounts/"
           f"{os.environ['BENCH_TWILIO_SID']}/Messages.json")
    database = os.environ["BENCH_DATABASE_URL"].replace("postgresql://",
                                                        "postgresql+psycopg2://")
    pool = int(os.environ.get("BENCH_POOL", "20"))
    return {"engine": create_engine(database, pool_size=pool, max_overflow=0,
                                    pool_pre_ping=True),
            "post": (_urllib3_post if os.environ.get("BENCH_HTTP") == "urllib3"
                     else _requests_post)(url, auth, concurrency)}


def _requests_post(url: str, auth: tuple, concurrency: int):
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=concurrency))
    session.auth = auth

    def post(form: dict) -> None:
        session.post(url, data=form, timeout=10).raise_for_status()
    return post


def _urllib3_post(url: str, auth: tuple, concurrency: int):
    pool = urllib3.PoolManager(maxsize=concurrency)
    headers = {**urllib3.make_headers(basic_auth=":".join(auth)),
               "Content-Type": "application/x-www-form-urlencoded"}

    def post(form: dict) -> None:
        answer = pool.request("POST", url, body=urlencode(form), headers=headers,
                              timeout=10, retries=False)
        if answer.status >= 400:
            raise RuntimeError(f"provider answered {answer.status}")
    return post


def send(notification_id: int) -> None:
    state = _state or _state.update(_setup()) or _state
    with state["engine"].begin() as connection:
        phone = connection.execute(UPDATE, {"id": notification_id}).scalar_one()
    state["post"]({"To": phone, "From": "+13125550199", "Body": BODY})
