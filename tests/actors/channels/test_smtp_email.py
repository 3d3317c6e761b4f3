"""The SMTP adapter against the SMTP sink: text and HTML, refusals, server unreachable."""
import pytest

from actors.channels import PermanentError, RetryableError
from actors.channels.smtp_email import SmtpEmail


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
