"""What the tests and the benchmarks share: throw-away services, connecting, waiting.

Each session gets its own PostgreSQL database and RabbitMQ vhost, named after its process, so
that parallel runs (CI, a developer, a helper) never see or wipe each other's data. bench/
imports this module too, so a helper needed by both lives here and nowhere else.
"""
import os
import subprocess
import time
import uuid

import pika
import psycopg2
from psycopg2 import sql

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def pg_connect(url: str):
    """A psycopg2 connection from a libpq or a SQLAlchemy (``postgresql+psycopg2://``) URL."""
    return psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1))


def amqp_connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def queue_counts(url: str, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of an existing queue, on a connection of its own."""
    with amqp_connect(url) as connection:
        method = connection.channel().queue_declare(queue, passive=True).method
        return method.message_count, method.consumer_count


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.1,
               what: str = "condition", before_each=None):
    """Poll ``predicate`` until it is truthy and return its value.

    The timeout bounds a hang, it is not a speed check: past it, TimeoutError names ``what``.
    ``before_each`` runs before every poll, e.g. to end the transaction whose snapshot would
    hide rows that workers on other connections committed since.
    """
    deadline = time.monotonic() + timeout
    while True:
        if before_each is not None:
            before_each()
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def create_database(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    connection = pg_connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str, admin_url: str = PG_ADMIN_URL) -> None:
    connection = pg_connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    connection.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost(name: str) -> str:
    user = RABBIT_URL.split("//", 1)[1].split(":", 1)[0]
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    return f"{RABBIT_URL}/{name}"


def delete_vhost(name: str) -> None:
    _rabbitmqctl("delete_vhost", name)
