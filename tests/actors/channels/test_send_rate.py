"""A second provider keeps its own send rate: a send past it waits, then is retried as
``rate-limited``; with REDIS_URL every worker process shares one window, without it each
keeps its share of the rate."""
import pytest
from moto.sns.models import sns_backends

from actors.channels import RetryableError
from actors.channels.send_rate import RATE_LIMITED, RateLimited, rate_of, window_for
from actors.channels.sns_sms import SnsSms
from tests.web.admin.test_throttle import redis_url  # noqa: F401 - a fixture

SNS = sns_backends["123456789012"]["us-east-1"]
# One SMS per ten seconds through SNS; a send waits at most 0.3 s for a slot.
SLOW = {"SNS_RATE_PER_SECOND": 0.1, "SMS_RATE_PER_SECOND": 10.0, "REDIS_URL": None,
        "SEND_WORKER_PROCESSES": 1, "PROVIDER_TIMEOUT_SECONDS": 0.3}


@pytest.fixture
def sns(aws_endpoint, aws_credentials):
    SNS.sms_messages.clear()
    return lambda: SnsSms(region="us-east-1", endpoint_url=aws_endpoint, timeout=5)


def _numbers():
    return sorted(message[0] for message in SNS.sms_messages.values())


def test_rates_come_from_the_providers_own_setting_or_the_channels():
    config = {"SNS_RATE_PER_SECOND": 3.0, "SMTP_RATE_PER_SECOND": 2.0,
              "SMS_RATE_PER_SECOND": 10.0, "EMAIL_RATE_PER_SECOND": 14.0}
    assert rate_of(config, "sms", "sns") == 3.0
    assert rate_of(config, "email", "smtp") == 2.0
    assert rate_of(config, "email", "ses") == 14.0  # SES after SMTP: the channel's rate
    assert window_for(20.0) == (20, 1)
    assert window_for(2.5) == (2, 1)
    assert window_for(0.25) == (1, 4)


def test_a_send_past_the_rate_is_retried_as_rate_limited_not_sent(sns):
    limited = RateLimited(sns(), "sms", SLOW)
    assert limited.provider == "sns"
    limited.send_sms("+13125550101", "first")
    with pytest.raises(RetryableError) as refused:
        limited.send_sms("+13125550102", "second")
    assert refused.value.code == RATE_LIMITED
    assert _numbers() == ["+13125550101"]


def test_without_redis_each_process_keeps_its_share(sns):
    # Two processes, 0.2 a second between them: each may send one per ten seconds.
    config = {**SLOW, "SNS_RATE_PER_SECOND": 0.2, "SEND_WORKER_PROCESSES": 2}
    one, other = RateLimited(sns(), "sms", config), RateLimited(sns(), "sms", config)
    one.send_sms("+13125550101", "one")
    other.send_sms("+13125550102", "other")
    with pytest.raises(RetryableError):
        one.send_sms("+13125550103", "one again")
    assert _numbers() == ["+13125550101", "+13125550102"]


def test_with_redis_every_process_shares_one_window(sns, redis_url):  # noqa: F811
    config = {**SLOW, "REDIS_URL": redis_url}
    one, other = RateLimited(sns(), "sms", config), RateLimited(sns(), "sms", config)
    one.send_sms("+13125550101", "one")
    with pytest.raises(RetryableError) as refused:
        other.send_sms("+13125550102", "other")
    assert refused.value.code == RATE_LIMITED
    assert _numbers() == ["+13125550101"]
