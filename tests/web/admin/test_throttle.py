"""Login throttling (Flask-Limiter) and a lock-out that always ends without an admin."""
import shutil
import socket
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from db import StaffUser, db
from tests.services import wait_until
from tests.web.admin.conftest import FAST_HASH, PASSWORD, csrf_token, login
from web.admin.throttle import lock_duration


def _attempt(client, email, password="wrong-password", address="203.0.113.7"):
    token = csrf_token(client)
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_the_31st_attempt_in_a_minute_from_one_address_gets_429(client, accounts):
    answers = [_attempt(client, f"nobody{i}@clinic.example").status_code for i in range(31)]
    assert 429 not in answers[:30]
    assert answers[30] == 429
    refused = _attempt(client, accounts["staff"], PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Another address is not held back by this one.
    assert _attempt(client, accounts["staff"], PASSWORD, address="198.51.100.9").status_code == 302


def test_one_account_tried_from_many_addresses_is_throttled_too(client, accounts):
    answers = [_attempt(client, accounts["viewer"], address=f"198.51.100.{i}").status_code
               for i in range(21)]
    assert 429 not in answers[:20] and answers[20] == 429


def _user(email) -> StaffUser:
    db.session.expire_all()
    return db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def _age_the_lock(email, minutes):
    user = _user(email)
    user.locked_at = user.locked_at - timedelta(minutes=minutes)
    db.session.commit()


@pytest.fixture
def unthrottled(make_app):
    """An app whose throttle stays out of the way: these tests are about the lock-out."""
    app = make_app(LOGIN_RATE_PER_ADDRESS="1000/minute", LOGIN_RATE_PER_ACCOUNT="1000/minute",
                   **FAST_HASH)
    with app.app_context():
        yield app


def test_a_locked_account_comes_back_by_itself_and_the_next_lock_lasts_longer(unthrottled,
                                                                              accounts):
    app, client = unthrottled, unthrottled.test_client()
    email = accounts["staff"]
    for i in range(10):
        login(client, email, f"wrong-{i}")
    assert _user(email).locked_at is not None
    assert login(client, email).status_code == 200  # locked: the right password waits
    _age_the_lock(email, 14)
    assert login(client, email).status_code == 200  # 15 minutes are not up
    _age_the_lock(email, 2)
    assert login(client, email).status_code == 302  # recovered, no admin involved
    assert _user(email).failed_logins == 0
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    for i in range(10):
        login(client, email, f"wrong-again-{i}")
    for i in range(10):
        login(client, email, f"and-again-{i}")
    user = _user(email)
    assert user.failed_logins == 20 and user.locked_at is not None
    assert lock_duration(user.failed_logins, app.config) == timedelta(minutes=30)
    _age_the_lock(email, 16)
    assert login(client, email).status_code == 200  # the second lock lasts 30 minutes


def test_locks_grow_but_never_past_the_maximum(app):
    durations = [lock_duration(n * 10, app.config) for n in range(1, 12)]
    assert durations[:3] == [timedelta(minutes=15), timedelta(minutes=30),
                             timedelta(minutes=60)]
    assert max(durations) == timedelta(minutes=app.config["ADMIN_LOCKOUT_MAX_MINUTES"])


@pytest.fixture
def redis_url(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (the machine kind and CI have it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis
    wait_until(lambda: _pings(redis, url), timeout=30, what="redis-server")
    yield url
    server.terminate()
    server.wait(timeout=30)


def _pings(redis, url) -> bool:
    try:
        return redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        return False


def test_with_redis_url_every_web_process_shares_the_counters(make_app, redis_url):
    first, second = (make_app(REDIS_URL=redis_url, **FAST_HASH) for _ in range(2))
    answers = []
    for i in range(31):
        app = (first, second)[i % 2]  # two web processes, one address
        with app.app_context():
            answers.append(_attempt(app.test_client(), f"nobody{i}@clinic.example").status_code)
    assert 429 not in answers[:30] and answers[30] == 429
