"""SES bounce, complaint and delivery notices, signed the way SNS signs them.

The test serves its own signing certificate on 127.0.0.1 (allow-listed through
SNS_CERT_HOSTS, as the setting allows for tests) and signs messages with its key.
"""
import base64
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from db import ConsentChange, Notification, Patient, db
from tests.conftest import drain
from tests.factories import EMAIL_ADDRESS, appointment, moved, post_event
from web.providers.sns import string_to_sign

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-notices"


class CertificateServer:
    """Serves a self-signed signing certificate, and counts subscription confirmations."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        self.pem = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - timedelta(days=1))
                    .not_valid_after(now + timedelta(days=1))
                    .sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        self.confirmations = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/confirm"):
                    server.confirmations.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                else:
                    body = server.pem
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def sign(self, message: dict, *, version="1", key=None) -> dict:
        message = {**message, "SignatureVersion": version,
                   "SigningCertURL": f"{self.url}/SimpleNotificationService-test.pem"}
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(string_to_sign(message), padding.PKCS1v15(), digest)
        message["Signature"] = base64.b64encode(signature).decode()
        return message


@pytest.fixture(scope="module")
def certificates():
    server = CertificateServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


@pytest.fixture
def ses_app(make_app):
    app = make_app(SNS_CERT_HOSTS="127.0.0.1", SNS_TOPIC_ARNS=TOPIC)
    with app.app_context():
        yield app


def notice(payload: dict) -> dict:
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC,
            "Message": json.dumps(payload), "Timestamp": "2026-11-25T22:00:00.000Z"}


def bounce(message_id, address=EMAIL_ADDRESS, kind="Permanent"):
    return notice({"notificationType": "Bounce", "mail": {"messageId": message_id},
                   "bounce": {"bounceType": kind, "bounceSubType": "General",
                              "bouncedRecipients": [{"emailAddress": address}]}})


def post(client, message: dict):
    return client.post("/api/v1/ses/notifications", data=json.dumps(message),
                       content_type="text/plain; charset=UTF-8")


def emailed(app, client, first=None):
    """A change notice by e-mail, sent; returns (appointment, notification)."""
    first = first or appointment(patient={"preferred_channel": "email"})
    if not db.session.execute(select(Notification)).first():
        post_event(client, "appointment.created", first)
    second = moved(first, hours=1)
    (created,) = post_event(client, "appointment.updated", second).json["notifications"]
    drain(app)
    db.session.expire_all()
    return second, db.session.get(Notification, created["id"])


def test_hard_bounce_marks_the_address_undeliverable(ses_app, certificates):
    client = ses_app.test_client()
    second, sent = emailed(ses_app, client)
    assert sent.status == "sent"
    response = post(client, certificates.sign(bounce(sent.provider_message_id,
                                                     EMAIL_ADDRESS.upper())))
    assert response.status_code == 204
    db.session.expire_all()
    patient = db.session.get(Patient, sent.patient_id)
    assert patient.email_undeliverable and not patient.email_opted_out
    assert db.session.get(Notification, sent.id).status == "undelivered"
    (change,) = db.session.execute(select(ConsentChange)).scalars().all()
    assert (change.channel, change.source) == ("email", "email-bounce")
    _, next_one = emailed(ses_app, client, first=second)
    assert next_one.status == "suppressed"


def test_complaint_opts_the_patient_out_of_email(ses_app, certificates):
    client = ses_app.test_client()
    _, sent = emailed(ses_app, client)
    message = notice({"notificationType": "Complaint", "mail": {"messageId": "other"},
                      "complaint": {"complainedRecipients": [{"emailAddress": EMAIL_ADDRESS}],
                                    "complaintFeedbackType": "abuse"}})
    assert post(client, certificates.sign(message, version="2")).status_code == 204
    db.session.expire_all()
    patient = db.session.get(Patient, sent.patient_id)
    assert patient.email_opted_out and patient.email_undeliverable
    (change,) = db.session.execute(select(ConsentChange)).scalars().all()
    assert change.source == "email-complaint" and change.opted_out


def test_delivery_notice_marks_delivered_and_soft_bounce_changes_nothing(ses_app, certificates):
    client = ses_app.test_client()
    _, sent = emailed(ses_app, client)
    assert post(client, certificates.sign(bounce(sent.provider_message_id,
                                                 kind="Transient"))).status_code == 204
    delivery = notice({"eventType": "Delivery", "mail": {"messageId": sent.provider_message_id},
                       "delivery": {}})
    assert post(client, certificates.sign(delivery)).status_code == 204
    db.session.expire_all()
    assert db.session.get(Notification, sent.id).status == "delivered"
    assert not db.session.get(Patient, sent.patient_id).email_undeliverable


def test_forged_unsigned_or_foreign_messages_are_refused(ses_app, certificates):
    client = ses_app.test_client()
    _, sent = emailed(ses_app, client)
    message = bounce(sent.provider_message_id)
    forged = certificates.sign(message, key=rsa.generate_private_key(65537, 2048))
    tampered = certificates.sign(message)
    tampered["Message"] = tampered["Message"].replace("Permanent", "Permanent ")
    foreign_host = {**certificates.sign(message),
                    "SigningCertURL": "https://sns.evil.example/cert.pem"}
    other_topic = certificates.sign({**message, "TopicArn": TOPIC + "-other"})
    for bad in (forged, tampered, foreign_host, other_topic, message):
        assert post(client, bad).status_code == 403
    assert client.post("/api/v1/ses/notifications", data="not json").status_code == 400
    db.session.expire_all()
    assert not db.session.get(Patient, sent.patient_id).email_undeliverable


def test_default_allow_list_refuses_a_loopback_certificate(make_app, certificates):
    app = make_app()  # SNS_CERT_HOSTS left at the AWS default
    with app.app_context():
        message = certificates.sign(bounce("x"))
        assert post(app.test_client(), message).status_code == 403


def test_subscription_is_confirmed(ses_app, certificates):
    message = {"Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()),
               "Token": "t0k3n", "TopicArn": TOPIC, "Message": "confirm it",
               "SubscribeURL": f"{certificates.url}/confirm?Token=t0k3n",
               "Timestamp": "2026-11-25T22:00:00.000Z"}
    before = len(certificates.confirmations)
    assert post(ses_app.test_client(), certificates.sign(message)).status_code == 204
    assert len(certificates.confirmations) == before + 1
