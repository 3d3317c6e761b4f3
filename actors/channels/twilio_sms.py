"""SMS through Twilio's official client (on our urllib3 pool: actors.channels.twilio_http)."""
import json
import logging

import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from actors.channels.errors import ConsentError, PermanentError, RetryableError
from actors.channels.twilio_http import PooledHttpClient, unreachable_code

# Twilio error codes (https://www.twilio.com/docs/api/errors). Anything not listed is
# decided by its HTTP status: 429 and 5xx are retried, other 4xx are permanent.
RETRYABLE_CODES = {20429, 20500, 20503, 30001, 30008}
PERMANENT_CODES = {
    21211: "invalid 'To' number",
    21212: "invalid 'From' number",
    21408: "region not enabled",
    21602: "message body required",
    21612: "cannot route to this number",
    21614: "not a mobile number",
    30003: "unreachable handset",
    30005: "unknown destination",
    30006: "landline or unreachable carrier",
}
CONSENT_CODES = {21610: "recipient replied STOP"}

# The client logs every request's form data (numbers and text) at INFO; keep it quiet.
_quiet = logging.getLogger("patient_notifier.twilio_http")
_quiet.setLevel(logging.WARNING)


def classify(error: TwilioRestException) -> Exception:
    code = error.code
    if code in CONSENT_CODES:
        return ConsentError(str(code), CONSENT_CODES[code])
    if code in PERMANENT_CODES:
        return PermanentError(str(code), PERMANENT_CODES[code])
    if code in RETRYABLE_CODES or error.status == 429 or error.status >= 500:
        return RetryableError(str(code or error.status), "provider busy or unavailable")
    return PermanentError(str(code or error.status), "rejected by Twilio")


class TwilioSms:
    provider = "twilio"

    def __init__(self, *, account_sid, auth_token, from_number=None,
                 messaging_service_sid=None, api_base_url=None, timeout=10.0,
                 connections=32):
        if not (account_sid and auth_token and (from_number or messaging_service_sid)):
            raise ValueError("Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                             "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        # As many kept-alive connections as threads: fewer reopen one per message.
        http_client = PooledHttpClient(api_base_url or "https://api.twilio.com",
                                       timeout=timeout, connections=connections, logger=_quiet)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.sender = ({"messaging_service_sid": messaging_service_sid}
                       if messaging_service_sid else {"from_": from_number})

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        options = dict(self.sender)
        if status_callback:
            options["status_callback"] = status_callback
        try:
            message = self.client.messages.create(to=to, body=body, **options)
        except TwilioRestException as error:
            raise classify(error) from None
        except urllib3.exceptions.HTTPError as error:
            raise RetryableError(unreachable_code(error), "could not reach Twilio") from None
        except TwilioException as error:
            raise RetryableError(type(error).__name__, "could not reach Twilio") from None
        return message.sid

    def find_sent(self, to: str, body: str, since) -> tuple[str, str] | None:
        """(sid, Twilio status) of a message with ``body`` sent to ``to`` since ``since``.

        Asked before a send whose earlier attempt has no known outcome (a crash or a timeout
        after Twilio may have accepted it): adopting the message it finds is what keeps a
        retry from reaching the patient twice. Twilio filters ``DateSent`` by day, so the
        exact time is compared here; ``date_sent`` may be empty while a message is queued.
        """
        try:
            for message in self.client.messages.list(to=to, date_sent_after=since,
                                                     page_size=50, limit=200):
                sent = message.date_sent or message.date_created
                if message.body == body and (sent is None or sent >= since):
                    return message.sid, message.status
        except TwilioRestException as error:
            raise classify(error) from None
        except TwilioException as error:
            # A list page that is not 200 comes as TwilioException(text, response). Not
            # knowing whether it went, a retry asks again (never a second message).
            raise RetryableError(_page_error(error), "could not ask Twilio") from None
        except urllib3.exceptions.HTTPError as error:
            raise RetryableError(unreachable_code(error), "could not reach Twilio") from None
        return None


def _page_error(error: TwilioException) -> str:
    response = error.args[1] if len(error.args) > 1 else None
    try:
        return str(json.loads(response.text).get("code") or response.status_code)
    except (AttributeError, TypeError, ValueError):
        return type(error).__name__
