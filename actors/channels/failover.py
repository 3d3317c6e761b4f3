"""Providers per channel, in order (``SMS_PROVIDERS``, ``EMAIL_PROVIDERS``), and which one
carries the next attempt.

The circuit of each provider is the ``provider-failing:<channel>:<provider>`` condition
(actors.alerts.rates), judged from the attempts that went through that provider: while it is
open for the first provider, attempts go to the next one that is not failing. Only attempts
change provider: a retryable failure is retried (and so reaches the next provider), a
permanent verdict fails the notification wherever it happened.

Half-open: once traffic has moved, the first provider gets no samples, and a circuit that
closed for want of failures would send traffic back to a provider still broken. So its
circuit stays open until it is seen healthy (actors.alerts.rates), and to be seen at all each
worker process sends one attempt through it every ``FAILOVER_PROBE_SECONDS`` (a probe). A
failed probe is one retry more for one notification; its next attempt goes to the next
provider again.

The providers after the first keep their own send rate (actors.channels.send_rate).
"""
import threading
from time import monotonic

from flask import current_app
from sqlalchemy import select

from actors.channels import channels_for
from actors.channels.errors import RetryableError
from actors.channels.send_rate import RateLimited
from db import Alert, db

#: app -> (when to look again, providers failing now)
_failing: dict[int, tuple[float, frozenset[str]]] = {}
#: (app, channel) -> when this process may next probe the channel's failing first provider
_next_probe: dict[tuple[int, str], float] = {}
_probe_lock = threading.Lock()


def _make(name: str, config):
    """A second provider's adapter (the first is channels_for's)."""
    if name == "sns":
        from actors.channels.sns_sms import SnsSms
        return SnsSms(region=config["AWS_REGION"], endpoint_url=config["AWS_ENDPOINT_URL_SNS"],
                      timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    if name == "smtp":
        from actors.channels.smtp_email import SmtpEmail
        return SmtpEmail(host=config["SMTP_HOST"], port=config["SMTP_PORT"],
                         sender=config["EMAIL_FROM"], username=config["SMTP_USERNAME"],
                         password=config["SMTP_PASSWORD"], starttls=config["SMTP_STARTTLS"],
                         timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    if name == "ses":
        from actors.channels.ses_email import SesEmail
        return SesEmail(region=config["AWS_REGION"], sender=config["EMAIL_FROM"],
                        timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    from actors.channels.twilio_sms import TwilioSms
    return TwilioSms(
        account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
        from_number=config["TWILIO_FROM_NUMBER"],
        messaging_service_sid=config["TWILIO_MESSAGING_SERVICE_SID"],
        api_base_url=config["TWILIO_API_BASE_URL"], timeout=config["PROVIDER_TIMEOUT_SECONDS"],
        connections=config["PROVIDER_HTTP_CONNECTIONS"])


def providers_for(app, channel: str) -> list:
    """The channel's adapters in order; the first is the one ``channels_for`` built."""
    key = f"providers:{channel}"
    if key not in app.extensions:
        primary = channels_for(app)[channel]
        names = (app.config["SMS_PROVIDERS" if channel == "sms" else "EMAIL_PROVIDERS"]
                 or "").split(",")
        adapters = [primary] + [RateLimited(_make(name, app.config), channel, app.config)
                                for name in names if name and name != primary.provider]
        app.extensions[key] = adapters
    return app.extensions[key]


def failing_providers(app) -> frozenset[str]:
    """``<channel>:<provider>`` of every open provider-failing condition, looked up at most
    every FAILOVER_CHECK_SECONDS per process (one query, not one per send)."""
    now = monotonic()
    cached = _failing.get(id(app))
    if cached is None or cached[0] <= now:
        keys = db.session.scalars(select(Alert.key).where(
            Alert.kind == "provider-failing", Alert.status == "open")).all()
        cached = _failing[id(app)] = (
            now + app.config["FAILOVER_CHECK_SECONDS"],
            frozenset(key.removeprefix("provider-failing:") for key in keys))
    return cached[1]


def forget_failing() -> None:
    _failing.clear()
    with _probe_lock:
        _next_probe.clear()


def _probe_due(app, channel: str) -> bool:
    """True once per FAILOVER_PROBE_SECONDS per process and channel; the first interval
    starts when this process first sees the circuit open (it has just failed)."""
    now = monotonic()
    key = (id(app), channel)
    with _probe_lock:
        due = _next_probe.get(key)
        if due is not None and due > now:
            return False
        _next_probe[key] = now + app.config["FAILOVER_PROBE_SECONDS"]
        return due is not None


def adapter_for(channel: str, *, probe: bool = True):
    """The adapter the next attempt on ``channel`` goes through: the first provider not
    failing; the first when all are (its retries wait for it as before). While the first is
    failing, one attempt per interval is its probe; ``probe=False`` (on-call's e-mails, which
    leave no notification to judge the probe by) never is."""
    app = current_app._get_current_object()
    adapters = providers_for(app, channel)
    if len(adapters) == 1:
        return adapters[0]
    failing = failing_providers(app)
    first = adapters[0]
    if f"{channel}:{first.provider}" not in failing:
        if (id(app), channel) in _next_probe:  # closed again: the next opening starts afresh
            with _probe_lock:
                _next_probe.pop((id(app), channel), None)
        return first
    if probe and _probe_due(app, channel):
        return first
    for adapter in adapters[1:]:
        if f"{channel}:{adapter.provider}" not in failing:
            return adapter
    return first


def find_earlier(app, channel: str, address: str, body: str, since,
                 providers=None) -> tuple[str, str, str] | None:
    """(provider, message id, provider status) of an earlier attempt's message, asked of
    every provider of ``channel`` (or of ``providers``, names) that can be asked.

    Only Twilio keeps a list to ask (``find_sent``); SNS answers a publish with an id and
    keeps nothing we can search, and SMTP cannot be asked either, so an attempt lost there
    may reach the patient twice (once). A provider that cannot be asked now (a retryable
    error) is skipped when its circuit is open: an attempt through a provider answering
    errors to everything almost never went, and waiting for it to answer would keep the
    notification from failing over at all; otherwise its error is raised and the retry asks
    again.
    """
    unanswered = None
    for adapter in providers_for(app, channel):
        if providers is not None and adapter.provider not in providers:
            continue
        if not hasattr(adapter, "find_sent"):
            continue
        try:
            found = adapter.find_sent(address, body, since)
        except RetryableError as error:
            if f"{channel}:{adapter.provider}" not in failing_providers(app):
                unanswered = unanswered or error
            continue
        if found:
            return (adapter.provider, *found)
    if unanswered is not None:
        raise unanswered
    return None
