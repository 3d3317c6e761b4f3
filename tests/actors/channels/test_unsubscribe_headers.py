"""Every e-mail to a patient carries RFC 8058's one-click unsubscribe, on SES (sent raw, as
its simple API cannot carry headers) and on SMTP; an e-mail that is not a notification (an
alert to on-call) carries none."""
from email import message_from_bytes, policy

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from actors.channels.ses_email import SesEmail
from actors.channels.smtp_email import SmtpEmail
from actors.links import preferences_url, read_preferences_token


@pytest.fixture
def ses(aws_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", aws_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    channel = SesEmail(region="us-east-1", sender="reminders@clinic.example", timeout=5)
    channel.client.verify_email_identity(EmailAddress="reminders@clinic.example")
    return channel


def _one_click(message) -> str:
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip()
    assert url.startswith("<https://notify.clinic.example/u/") and url.endswith(">")
    return url[1:-1]


def test_ses_sends_the_headers_in_a_raw_message(app, ses):
    assert ses.send_email("patient@example.org", "Subject", "text", "<p>html</p>",
                          notification_id=42)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1]
    message = message_from_bytes(sent.raw_data.encode(), policy=policy.default)
    url = _one_click(message)
    assert url == preferences_url(42) and read_preferences_token(url.rsplit("/", 1)[1]) == 42
    assert message.get_body(("html",)).get_content().strip() == "<p>html</p>"


def test_smtp_sends_the_headers_and_alerts_go_without(app, fake_providers):
    _, smtp = fake_providers
    channel = SmtpEmail(host="127.0.0.1", port=smtp.port, sender="reminders@clinic.example")
    channel.send_email("patient@example.org", "Subject", "text", "<p>html</p>",
                       notification_id=7)
    channel.send_email("oncall@clinic.example", "Alert", "text", "<pre>text</pre>")
    (patient,) = smtp.sent_to("patient@example.org")
    assert _one_click(patient) == preferences_url(7)
    (alert,) = smtp.sent_to("oncall@clinic.example")
    assert alert["List-Unsubscribe"] is None
