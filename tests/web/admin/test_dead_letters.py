"""Dead letters in RabbitMQ's sms.XQ: listed for everyone, replayed by staff after a confirmation."""
import dramatiq
import pika
import pytest
from sqlalchemy import select

from actors.delivery import send_sms
from db import AuditEntry, db
from tests.services import amqp_connect, queue_counts
from tests.web.admin.conftest import FAST_HASH, PASSWORD, csrf_token, login, make_clinic
from web.admin.cli import seed_demo_account


@pytest.fixture
def dead_letter(make_app, rabbitmq_url):
    app = make_app(BROKER_URL=rabbitmq_url, **FAST_HASH)
    with app.app_context():
        clinic = make_clinic()
        send_sms.send_with_options(args=(clinic.failed.id,))  # declares sms, sms.DQ, sms.XQ
        with amqp_connect(rabbitmq_url) as connection:
            channel = connection.channel()
            channel.queue_purge("sms.XQ")
            _method, _, body = channel.basic_get("sms", auto_ack=True)
            channel.queue_purge("sms")
            message = dramatiq.Message.decode(body)
            dead = message.copy(options={**message.options,
                                         "traceback": "Traceback...\nRetryableError: 503"})
            channel.basic_publish("", "sms.XQ", dead.encode(),
                                  pika.BasicProperties(delivery_mode=2))
        try:
            yield app, dead.message_id, clinic
        finally:
            app.extensions["dramatiq"].close()  # its connections (and their sockets) go too


def depth(rabbitmq_url, queue):
    return queue_counts(rabbitmq_url, queue)[0]


def test_dead_letters_are_listed_and_replayed_with_an_audit_entry(dead_letter, rabbitmq_url):
    app, message_id, clinic = dead_letter
    for role in ("viewer", "staff"):
        seed_demo_account(f"{role}@clinic.example", PASSWORD, role=role)
    viewer = app.test_client()
    login(viewer, "viewer@clinic.example")
    page = viewer.get("/admin/dead-letters/").get_data(as_text=True)
    assert message_id in page and "RetryableError: 503" in page
    assert "/admin/dead-letters/replay" not in page
    assert depth(rabbitmq_url, "sms.XQ") == 1  # listing put it back

    # One client: the test's app context is shared by its requests (and so is Flask-Login's g).
    viewer.post("/auth/logout", data={"csrf_token": csrf_token(viewer, "/admin/")})
    staff = viewer
    login(staff, "staff@clinic.example")
    confirm = f"/admin/dead-letters/replay?queue=sms&message_id={message_id}"
    assert "Yes, replay" in staff.get(confirm).get_data(as_text=True)
    response = staff.post("/admin/dead-letters/replay", data={
        "csrf_token": csrf_token(staff, confirm), "queue": "sms", "message_id": message_id})
    assert response.status_code == 302
    assert depth(rabbitmq_url, "sms.XQ") == 0 and depth(rabbitmq_url, "sms") == 1
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "replay")).one()
    assert entry.object_id == message_id and entry.account == "staff@clinic.example"
    assert f"notification {clinic.failed.id}" in entry.detail
