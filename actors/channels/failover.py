"""Providers per channel, in order (``SMS_PROVIDERS``, ``EMAIL_PROVIDERS``), and which one
carries the next attempt.

The circuit of each provider is the existing ``provider-failing:<channel>:<provider>``
condition (actors.alerts.rates): while it is open for the first provider, attempts go to the
next one that is not failing. Only attempts change provider: a retryable failure is retried
(and so reaches the next provider), a permanent verdict fails the notification wherever it
happened. When the condition resolves, the next attempt is the first provider's again.
"""
import time

from flask import current_app
from sqlalchemy import select

from actors.channels import channels_for
from db import Alert, db

#: app -> (when to look again, providers failing now)
_failing: dict[int, tuple[float, frozenset[str]]] = {}


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
        adapters = [primary] + [_make(name, app.config) for name in names
                                if name and name != primary.provider]
        app.extensions[key] = adapters
    return app.extensions[key]


def failing_providers(app) -> frozenset[str]:
    """``<channel>:<provider>`` of every open provider-failing condition, looked up at most
    every FAILOVER_CHECK_SECONDS per process (one query, not one per send)."""
    now = time.monotonic()
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


def adapter_for(channel: str):
    """The adapter the next attempt on ``channel`` goes through: the first provider not
    failing; the first when all are (its retries wait for it as before)."""
    app = current_app._get_current_object()
    adapters = providers_for(app, channel)
    if len(adapters) == 1:
        return adapters[0]
    failing = failing_providers(app)
    for adapter in adapters:
        if f"{channel}:{adapter.provider}" not in failing:
            return adapter
    return adapters[0]
