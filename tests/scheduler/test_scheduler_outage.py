"""The scheduler rides out a database blip in-process: it waits for the database, takes its
lock again (or waits as the standby behind whoever took it) and goes on; only a shutdown
signal ends it. Real child processes, PostgreSQL behind a TCP proxy the test cuts."""
import signal

import pytest

from fakes.proxy import TcpProxy
from tests.scheduler.support import Child
from tests.scheduler.test_tick_exactly_once import _child_env, rabbit_app  # noqa: F401
from tests.services import wait_until

FAST = {"SCHEDULER_LOCK_RETRY_SECONDS": 0.2, "SCHEDULER_LOCK_CHECK_SECONDS": 0.3}


@pytest.fixture
def pg_proxy(database_url):
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port)).start()
    yield proxy, database_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    proxy.stop()


def _count(child: Child, fragment: str) -> int:
    return sum(fragment in str(line.get("message", "")) for line in list(child.lines))


def test_lock_connection_lost_then_retaken_in_process(rabbit_app, pg_proxy, rabbitmq_url):  # noqa: F811
    proxy, proxied_url = pg_proxy
    child = Child(["-m", "scheduler"], _child_env(proxied_url, rabbitmq_url, **FAST))
    try:
        child.wait_for("scheduler lock acquired")
        proxy.cut()
        child.wait_for("scheduler lock lost")
        child.wait_for("database unreachable; waiting to take the scheduler lock")
        proxy.restore()
        wait_until(lambda: _count(child, "scheduler lock acquired") == 2, timeout=30,
                   what="the lock taken again")
        assert child.process.poll() is None  # it went on: nothing had to restart it
        child.process.send_signal(signal.SIGTERM)
        assert child.process.wait(timeout=10) == 0
        assert child.saw("scheduler stopped")
    finally:
        child.kill()


def test_standby_took_the_lock_during_the_blip(rabbit_app, pg_proxy, database_url,  # noqa: F811
                                               rabbitmq_url):
    proxy, proxied_url = pg_proxy
    first = Child(["-m", "scheduler"], _child_env(proxied_url, rabbitmq_url, **FAST))
    second = None
    try:
        first.wait_for("scheduler lock acquired")
        second = Child(["-m", "scheduler"], _child_env(database_url, rabbitmq_url, **FAST))
        second.wait_for("another scheduler holds the lock")
        proxy.cut()  # the first loses its connection, and the lock with it
        second.wait_for("scheduler lock acquired")
        proxy.restore()
        wait_until(lambda: _count(first, "another scheduler holds the lock") >= 1, timeout=30,
                   what="the first waiting as the standby")
        assert first.process.poll() is None and second.process.poll() is None
        assert _count(first, "scheduler lock acquired") == 1
    finally:
        first.kill()
        if second is not None:
            second.kill()
