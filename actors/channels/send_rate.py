"""Each provider's own send rate, kept by the workers for the providers after the first.

Planning spreads reminders at the first provider's rate (``SMS_RATE_PER_SECOND``,
``EMAIL_RATE_PER_SECOND``). A second provider has limits of its own (SNS's account limit,
the SMTP relay's) and gets traffic only while the first is failing, whenever that is, so
the worker keeps its rate: each send through it first takes a slot in a window (Dramatiq's
``WindowRateLimiter``). With ``REDIS_URL`` the window is one for every worker process; without
it each process keeps its own and allows its share, the rate over ``SEND_WORKER_PROCESSES``.

A send that finds no slot waits for one, up to ``PROVIDER_TIMEOUT_SECONDS`` (a slow provider
would hold the thread as long), then is retried like any busy provider, with the error code
``rate-limited``, which the provider-failing check does not count against the provider.
"""
import math
import time

from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import StubBackend

from actors.channels.errors import RetryableError

RATE_LIMITED = "rate-limited"
#: A provider's own rate setting; the others keep their channel's (the planning rate).
RATE_SETTINGS = {"sns": "SNS_RATE_PER_SECOND", "smtp": "SMTP_RATE_PER_SECOND"}
CHANNEL_RATES = {"sms": "SMS_RATE_PER_SECOND", "email": "EMAIL_RATE_PER_SECOND"}
#: How often a waiting send looks for a free slot.
POLL_SECONDS = 0.05


def rate_of(config, channel: str, provider: str) -> float:
    """Sends per second ``provider`` takes on ``channel``, all processes together."""
    return config[RATE_SETTINGS.get(provider, CHANNEL_RATES[channel])]


def window_for(per_second: float) -> tuple[int, int]:
    """(limit, window seconds): Dramatiq's windows are whole seconds with a whole limit, so
    a rate under one a second becomes one send per so many seconds."""
    if per_second >= 1:
        return math.floor(per_second), 1
    return 1, math.ceil(1 / per_second)


def _backend(config):
    if config["REDIS_URL"]:
        from dramatiq.rate_limits.backends import RedisBackend
        return RedisBackend(url=config["REDIS_URL"])
    return StubBackend()


class RateLimited:
    """An adapter whose sends keep the provider's rate; everything else is the adapter's."""

    def __init__(self, adapter, channel: str, config):
        self.adapter = adapter
        shared = bool(config["REDIS_URL"])
        per_second = rate_of(config, channel, adapter.provider)
        if not shared:
            per_second /= config["SEND_WORKER_PROCESSES"]
        limit, window = window_for(per_second)
        self.limiter = WindowRateLimiter(
            _backend(config), f"patient-notifier:send-rate:{channel}:{adapter.provider}",
            limit=limit, window=window)
        self.wait_limit = config["PROVIDER_TIMEOUT_SECONDS"]

    def __getattr__(self, name):
        return getattr(self.adapter, name)

    def _take_slot(self) -> None:
        give_up = time.monotonic() + self.wait_limit
        while True:
            with self.limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            if time.monotonic() >= give_up:
                raise RetryableError(RATE_LIMITED, f"{self.adapter.provider} send rate reached")
            time.sleep(POLL_SECONDS)

    def send_sms(self, *args, **kwargs):
        self._take_slot()
        return self.adapter.send_sms(*args, **kwargs)

    def send_email(self, *args, **kwargs):
        self._take_slot()
        return self.adapter.send_email(*args, **kwargs)
