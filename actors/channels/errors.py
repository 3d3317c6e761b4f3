"""How a failed send is treated: retried, failed for good, or recorded as an opt-out."""


class ChannelError(Exception):
    """A provider refused or could not take a message.

    ``code`` is the provider's own code (Twilio error number, SES error code, SMTP reply
    code, HTTP status); ``reason`` is a short explanation for staff. Neither ever holds
    the recipient's address or the message text.
    """

    def __init__(self, code: str, reason: str = ""):
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = str(code)
        self.reason = reason


class RetryableError(ChannelError):
    """Worth trying again later: timeouts, throttling, the provider's own outages."""


class PermanentError(ChannelError):
    """Trying again gives the same answer: a bad number, a rejected address."""


class ConsentError(PermanentError):
    """The recipient has unsubscribed at the provider; record the opt-out."""
