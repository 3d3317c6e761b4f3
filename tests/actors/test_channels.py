"""Channel adapters against real-protocol servers: moto's SES server and an SMTP sink."""
import pytest
from moto.server import ThreadedMotoServer

from actors.channels import PermanentError, RetryableError
from actors.channels.ses_email import SesEmail
from actors.channels.smtp_email import SmtpEmail
from actors.channels.twilio_sms import TwilioSms
from tests.conftest import TWILIO_SID, TWILIO_TOKEN


@pytest.fixture(scope="module")
def ses_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ses(ses_endpoint, monkeypatch):
    # boto3 reads these itself, as it does in production (AWS_ENDPOINT_URL_SES).
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", ses_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    channel = SesEmail(region="us-east-1", sender="reminders@clinic.example", timeout=5)
    return channel


def test_ses_sends_through_the_ses_api(ses):
    ses.client.verify_email_identity(EmailAddress="reminders@clinic.example")
    message_id = ses.send_email("patient@example.org", "Subject", "text", "<p>html</p>")
    assert message_id
    stats = ses.client.get_send_quota()
    assert stats["SentLast24Hours"] >= 1


def test_ses_unverified_sender_is_a_permanent_failure(ses_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", ses_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    channel = SesEmail(region="us-east-1", sender="unverified@nowhere.example", timeout=5)
    with pytest.raises(PermanentError) as error:
        channel.send_email("patient@example.org", "Subject", "text", "<p>html</p>")
    assert error.value.code == "MessageRejected"


def test_ses_unreachable_is_retryable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    channel = SesEmail(region="us-east-1", sender="reminders@clinic.example", timeout=1)
    with pytest.raises(RetryableError):
        channel.send_email("patient@example.org", "Subject", "text", "<p>html</p>")


@pytest.fixture
def smtp_channel(fake_providers):
    _, sink = fake_providers
    return SmtpEmail(host="127.0.0.1", port=sink.port, sender="reminders@clinic.example"), sink


def test_smtp_sends_text_and_html(smtp_channel):
    channel, sink = smtp_channel
    message_id = channel.send_email("patient@example.org", "Hello", "plain body", "<p>html</p>")
    (message,) = sink.sent_to("patient@example.org")
    assert message["Message-ID"] == message_id
    assert message.get_body(("plain",)).get_content().strip() == "plain body"


def test_smtp_refused_recipient_is_permanent(smtp_channel):
    channel, sink = smtp_channel
    sink.refuse.add("gone@example.org")
    with pytest.raises(PermanentError) as error:
        channel.send_email("gone@example.org", "Hello", "text", "<p>html</p>")
    assert error.value.code == "550"


def test_smtp_temporary_refusal_is_retryable(smtp_channel):
    channel, sink = smtp_channel
    sink.down = True
    with pytest.raises(RetryableError) as error:
        channel.send_email("patient@example.org", "Hello", "text", "<p>html</p>")
    assert error.value.code == "421"


def test_smtp_server_unreachable_is_retryable():
    channel = SmtpEmail(host="127.0.0.1", port=9, sender="reminders@clinic.example", timeout=1)
    with pytest.raises(RetryableError):
        channel.send_email("patient@example.org", "Hello", "text", "<p>html</p>")


@pytest.mark.parametrize("status,code,expected", [
    (429, 20429, RetryableError), (500, 20500, RetryableError), (400, 21211, PermanentError),
    (400, 21614, PermanentError), (400, 30006, PermanentError), (400, 99999, PermanentError),
])
def test_twilio_errors_are_classified_by_code(fake_providers, status, code, expected):
    twilio, _ = fake_providers
    channel = TwilioSms(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN,
                        from_number="+13125550199", api_base_url=twilio.url, timeout=5)
    twilio.fail("+13125550100", status=status, code=code)
    with pytest.raises(expected) as error:
        channel.send_sms("+13125550100", "hello")
    assert error.value.code == str(code)


def test_twilio_messaging_service_is_used_when_configured(fake_providers):
    twilio, _ = fake_providers
    channel = TwilioSms(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN,
                        messaging_service_sid="MG" + "2" * 32, api_base_url=twilio.url)
    channel.send_sms("+13125550100", "hello")
    assert twilio.messages[0]["MessagingServiceSid"] == "MG" + "2" * 32


def test_twilio_unreachable_is_retryable():
    channel = TwilioSms(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN,
                        from_number="+13125550199", api_base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(RetryableError):
        channel.send_sms("+13125550100", "hello")
