"""The SES adapter against moto's SES server: sent, rejected sender, endpoint unreachable."""
import pytest

from actors.channels import PermanentError, RetryableError
from actors.channels.ses_email import SesEmail


@pytest.fixture
def ses(aws_endpoint, monkeypatch):
    # boto3 reads these itself, as it does in production (AWS_ENDPOINT_URL_SES).
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", aws_endpoint)
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


def test_ses_unverified_sender_is_a_permanent_failure(aws_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", aws_endpoint)
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
