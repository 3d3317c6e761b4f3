"""A full run on RabbitMQ (sends, failures, retries, dead letters, receipts, replies,
bounces, alerts, metrics) leaves no patient's name, phone or e-mail in the JSON logs, in
Sentry events, in alert e-mails, in CLI output or in /metrics."""
import io
import json
import logging

import pytest
import sentry_sdk
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from actors.alerts.checks import run_checks
from actors.alerts.failures import COMMIT_GRACE
from actors.broker import QUEUES
from db import Notification, db, utcnow
from tests.actors.alerts.support import ONCALL, MemoryTransport
from tests.conftest import TWILIO_TOKEN, running_worker, wait_for_commits
from tests.factories import appointment, moved, post_event
from tests.web.test_providers_ses import TOPIC, CertificateServer, bounce
from web.observability import scrub_event

PATIENTS = [
    {"id": "P-71", "given_name": "Grace", "family_name": "Hopper", "phone": "+13125550171",
     "email": "grace.hopper@example.org", "preferred_channel": "both"},
    {"id": "P-72", "given_name": "Katherine", "family_name": "Johnson",
     "phone": "+13125550172", "email": "kjohnson@example.net", "preferred_channel": "sms"},
    {"id": "P-73", "given_name": "Hedy", "family_name": "Lamarr", "phone": "+13125550173",
     "email": "hedy@lamarr.example.com", "preferred_channel": "both"},
]
SECRETS = [value for p in PATIENTS for value in
           (p["given_name"], p["family_name"], p["phone"], p["phone"][2:], p["email"])]


@pytest.fixture
def transport():
    memory = MemoryTransport()
    yield memory
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # later tests report nowhere


@pytest.fixture
def json_logs():
    """What the app's own JSON handler writes (normally to stderr), during the test."""
    handler = next(h for h in logging.getLogger().handlers
                   if h.get_name() == "patient-notifier-json")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def twilio_post(client, path, params):
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "https://notify.clinic.example" + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def settled():
    statuses = db.session.execute(select(Notification.status)).scalars().all()
    return len(statuses) == 5 and not {"queued", "sending"} & set(statuses)


def test_end_to_end_run_leaks_no_patient_data(make_app, rabbitmq_url, fake_providers,
                                              transport, json_logs):
    twilio, smtp = fake_providers
    certificates = CertificateServer()
    app = make_app(BROKER_URL=rabbitmq_url, ALERT_EMAIL_TO=ONCALL, SENTRY_TRANSPORT=transport,
                   SNS_CERT_HOSTS="127.0.0.1", SNS_TOPIC_ARNS=TOPIC, LOG_LEVEL="DEBUG")
    broker = app.extensions["dramatiq"]
    for queue in QUEUES:
        broker.flush(queue)
    grace, katherine, hedy = PATIENTS
    twilio.fail(katherine["phone"], status=400, code=21211)  # permanent
    twilio.fail(hedy["phone"], status=503, code=20503, times=4)  # exhausts its retries
    smtp.refuse.add(hedy["email"])  # permanent e-mail refusal
    outputs = []
    with app.app_context(), running_worker(app, threads=4):
        client = app.test_client()
        for number, patient in enumerate(PATIENTS):
            first = appointment(id=f"A-7{number}", patient=patient)
            post_event(client, "appointment.created", first)
            post_event(client, "appointment.updated", moved(first, hours=2))
        wait_for_commits(settled, "every send to finish")

        (grace_sms,) = twilio.sent_to(grace["phone"])
        twilio_post(client, "/api/v1/twilio/status",
                    {"MessageSid": grace_sms["sid"], "MessageStatus": "delivered"})
        client.post("/api/v1/twilio/status", data={"MessageSid": grace_sms["sid"],
                                                   "MessageStatus": "failed"})  # forged
        for body in ("HELP", "Stop ", "START"):
            outputs.append(twilio_post(client, "/api/v1/twilio/inbound", {
                "From": grace["phone"], "To": "+13125550199", "Body": body}).get_data(True))
        grace_mail = db.session.execute(select(Notification).where(
            Notification.channel == "email", Notification.status == "sent")).scalar_one()
        client.post("/api/v1/ses/notifications", data=json.dumps(certificates.sign(
            bounce(grace_mail.provider_message_id, grace["email"]))))

        runner = app.test_cli_runner()
        outputs.append(runner.invoke(args=["dead-letters", "list"]).output)
        run_checks(utcnow() + COMMIT_GRACE)
        wait_for_commits(lambda: len(smtp.sent_to(ONCALL)) >= 3, "alert e-mails")
        twilio.reset()
        outputs.append(runner.invoke(args=["dead-letters", "replay"]).output)
        wait_for_commits(lambda: len(twilio.messages) == 1, "the replayed send")
        outputs.append(client.get("/metrics").get_data(as_text=True))
        sentry_sdk.flush()
    certificates.http.shutdown()
    certificates.http.server_close()
    for queue in QUEUES:
        broker.flush(queue)
    broker.close()

    logs = json_logs.getvalue()
    records = [json.loads(line) for line in logs.splitlines()]
    messages = {record["message"] for record in records}
    assert {"sent", "send retries exhausted", "status callback", "inbound consent keyword",
            "e-mail address marked undeliverable", "alert e-mail sent",
            "dead letter replayed"} <= messages
    events = transport.payloads()
    assert any("send retries exhausted" in event for event in events)
    mails = [m.get_body(("plain",)).get_content() + m["Subject"] for m in smtp.sent_to(ONCALL)]
    assert "Clinic" in outputs[0]  # the HELP reply reached its patient (TwiML, not a log)
    for secret in SECRETS:
        assert secret not in logs, secret
        assert all(secret not in event for event in events), secret
        assert all(secret not in mail for mail in mails), secret
        assert all(secret not in output for output in outputs[3:]), secret


def test_scrubber_keeps_ids_and_drops_request_bodies_and_strays():
    event = {"request": {"data": "Body=STOP&From=%2B13125550171", "query_string": "x=1",
                         "headers": {"X-Twilio-Signature": "s", "Content-Type": "form"}},
             "user": {"email": "grace.hopper@example.org"},
             "extra": {"dramatiq_message": {"message_id": "m1", "actor_name": "send_sms",
                                            "queue_name": "sms", "args": [42],
                                            "options": {"traceback": "to +13125550171"}}},
             "exception": {"values": [{"value": "refused grace.hopper@example.org"}]}}
    scrubbed = json.dumps(scrub_event(event, {}))
    assert "13125550171" not in scrubbed and "grace.hopper" not in scrubbed
    assert "X-Twilio-Signature" not in scrubbed and '"args": [42]' in scrubbed
