"""Provider callbacks parse their bodies before a signature can be checked: whatever arrives,
the answer is a 4xx (or the ordinary answer), never a 5xx, and nothing changes."""
import json

import pytest
from sqlalchemy import select

from db import ConsentChange, Notification, Patient, db
from tests.web import test_providers_ses as ses_support
from tests.web.test_providers_ses import TOPIC, notice, post
from tests.web.test_providers_twilio import reply, status_callback

# The SES tests' fixtures: a signing certificate served on 127.0.0.1, an app that trusts it.
certificates = ses_support.certificates
ses_app = ses_support.ses_app
TWILIO_PATHS = ["/api/v1/twilio/status", "/api/v1/twilio/inbound"]
DEEP = "[" * 50_000


@pytest.mark.parametrize("path", TWILIO_PATHS)
@pytest.mark.parametrize(("body", "content_type"), [
    (b"x" * (1024 * 1024), "application/x-www-form-urlencoded"),
    ("&".join(f"f{i}=v" for i in range(5000)).encode(), "application/x-www-form-urlencoded"),
    (b"\x00\xff\xfe%%%=&&=%zz", "application/x-www-form-urlencoded"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
     "multipart/form-data; boundary=b"),
    (b"--b\r\n", "multipart/form-data"),
    (DEEP.encode(), "application/json"),
    (b"\xc3\x28\xa0\xa1", "text/plain; charset=utf-8"),
])
def test_twilio_endpoints_refuse_garbage_unsigned(client, path, body, content_type):
    response = client.post(path, data=body, content_type=content_type,
                           headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", TWILIO_PATHS)
@pytest.mark.parametrize("signature", ["é" * 10, "x" * 5000, "\t", "a b", "%00"])
def test_twilio_signatures_of_any_shape_are_a_403(client, path, signature):
    response = client.post(path, data={"Body": "STOP"},
                           headers={"X-Twilio-Signature": signature.encode().decode("latin-1")})
    assert response.status_code == 403


@pytest.mark.parametrize("sid", ["SM\x00abc", "S" * 5000, "SM\u2028x"])
def test_signed_status_callbacks_with_odd_ids_change_nothing(app, client, sid):
    assert status_callback(client, sid, "delivered", ErrorCode="3" * 100).status_code == 204
    assert db.session.execute(select(Notification)).first() is None


@pytest.mark.parametrize("sender", ["+1312\x00555", "+" + "1" * 5000])
@pytest.mark.parametrize("body", ["STOP", "HELP", "\x00" * 10, "S" * 10_000])
def test_signed_replies_from_odd_senders_change_nothing(app, client, sender, body):
    assert reply(client, body, sender=sender).status_code == 200
    assert db.session.execute(select(ConsentChange)).first() is None


def _signed_shape(certificates, **changes):
    message = certificates.sign(notice({"notificationType": "Bounce"}))
    message.update(changes)
    return json.dumps(message)


HOSTILE_SNS = [
    "", "not json", "null", "[]", "5", '"text"', DEEP, "{" + '"a":{' * 20_000,
    json.dumps({"Type": ["Notification"]}), json.dumps({"Type": {"x": 1}}),
    json.dumps({"Type": "Notification", "SigningCertURL": 42, "SignatureVersion": "1"}),
    json.dumps({"Type": "Notification", "SigningCertURL": "https://[::1/x.pem",
                "SignatureVersion": "1", "Signature": "AAAA"}),
    json.dumps({"Type": "Notification", "SignatureVersion": "1", "Signature": {"a": 1},
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem"}),
    json.dumps({"Type": "Nope", "SignatureVersion": "9"}),
    json.dumps({"Type": "Notification", "Message": ["x"], "TopicArn": TOPIC}),
    json.dumps({"Type": "Notification", "SigningCertURL": "http://127.0.0.1\x00/x.pem"}),
]


@pytest.mark.parametrize("raw", HOSTILE_SNS, ids=range(len(HOSTILE_SNS)))
def test_sns_refuses_hostile_bodies_with_a_4xx(ses_app, raw):
    response = ses_app.test_client().post("/api/v1/ses/notifications", data=raw,
                                          content_type="text/plain")
    assert 400 <= response.status_code < 500


def test_sns_body_over_256_kib_is_a_413(ses_app):
    response = ses_app.test_client().post("/api/v1/ses/notifications",
                                          data="x" * (257 * 1024), content_type="text/plain")
    assert response.status_code == 413


def test_sns_fields_of_the_wrong_type_are_refused_even_with_a_real_signature(ses_app,
                                                                            certificates):
    for changes in ({"Subject": 5}, {"Timestamp": ["x"]}, {"MessageId": None, "Token": {}}):
        response = ses_app.test_client().post("/api/v1/ses/notifications",
                                              data=_signed_shape(certificates, **changes),
                                              content_type="text/plain")
        assert response.status_code == 403


@pytest.mark.parametrize("payload", [
    [1, 2], "text", 7, {"notificationType": ["Bounce"]},
    {"notificationType": "Bounce", "mail": ["x"], "bounce": "Permanent"},
    {"notificationType": "Bounce", "mail": {"messageId": "m\x00"},
     "bounce": {"bounceType": "Permanent", "bounceSubType": {"x": 1},
                "bouncedRecipients": ["a", None, {"emailAddress": "a\x00@b.org"},
                                      {"emailAddress": ["x"]}, {"emailAddress": "a" * 5000}]}},
    {"notificationType": "Complaint", "complaint": {"complainedRecipients": {"x": 1},
                                                    "complaintFeedbackType": "\x00" * 100}},
    {"eventType": "Delivery", "mail": {"messageId": "x" * 10_000}},
])
def test_signed_notices_of_any_shape_change_nothing(ses_app, certificates, payload):
    message = certificates.sign({**notice({}), "Message": json.dumps(payload)})
    response = post(ses_app.test_client(), message)
    assert response.status_code in (204, 400)
    assert db.session.execute(select(ConsentChange)).first() is None
    assert db.session.execute(select(Patient)).first() is None
