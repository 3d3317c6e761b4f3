"""The Twilio adapter against the fake Twilio server: errors classified by code."""
import pytest

from actors.channels import PermanentError, RetryableError
from actors.channels.twilio_sms import TwilioSms
from tests.conftest import TWILIO_SID, TWILIO_TOKEN


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
