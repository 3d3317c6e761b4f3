"""Channel adapters: one object per channel, built once per app from its settings."""
from actors.channels.errors import (
    ChannelError,
    ConsentError,
    PermanentError,
    RetryableError,
)

__all__ = ["ChannelError", "ConsentError", "PermanentError", "RetryableError", "channels_for"]


def _build(config) -> dict:
    channels = {}
    if config["SMS_CHANNEL"] == "twilio":
        from actors.channels.twilio_sms import TwilioSms
        channels["sms"] = TwilioSms(
            account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
            from_number=config["TWILIO_FROM_NUMBER"],
            messaging_service_sid=config["TWILIO_MESSAGING_SERVICE_SID"],
            api_base_url=config["TWILIO_API_BASE_URL"],
            timeout=config["PROVIDER_TIMEOUT_SECONDS"],
            connections=config["PROVIDER_HTTP_CONNECTIONS"])
    else:
        from actors.channels.console import ConsoleSms
        channels["sms"] = ConsoleSms()
    if config["EMAIL_CHANNEL"] == "ses":
        from actors.channels.ses_email import SesEmail
        channels["email"] = SesEmail(region=config["AWS_REGION"], sender=config["EMAIL_FROM"],
                                     timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    elif config["EMAIL_CHANNEL"] == "smtp":
        from actors.channels.smtp_email import SmtpEmail
        channels["email"] = SmtpEmail(
            host=config["SMTP_HOST"], port=config["SMTP_PORT"], sender=config["EMAIL_FROM"],
            username=config["SMTP_USERNAME"], password=config["SMTP_PASSWORD"],
            starttls=config["SMTP_STARTTLS"], timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    else:
        from actors.channels.console import ConsoleEmail
        channels["email"] = ConsoleEmail()
    return channels


def channels_for(app) -> dict:
    """The app's channel adapters, built on first use and shared by its worker threads."""
    if "channels" not in app.extensions:
        app.extensions["channels"] = _build(app.config)
    return app.extensions["channels"]
