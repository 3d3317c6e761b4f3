"""E-mail through Amazon SES with boto3 (which honours AWS_ENDPOINT_URL_SES itself)."""
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from actors.channels.errors import PermanentError, RetryableError
from actors.email_message import mime_message
from actors.links import unsubscribe_headers

RETRYABLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException",
                   "ServiceUnavailable", "InternalFailure", "RequestTimeout"}
PERMANENT_CODES = {
    "MessageRejected": "message rejected by SES",
    "MailFromDomainNotVerified": "sender domain not verified",
    "ConfigurationSetDoesNotExist": "configuration set missing",
    "AccountSendingPausedException": "SES sending paused for the account",
    "InvalidParameterValue": "invalid address or content",
}


def classify(error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "Unknown")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in RETRYABLE_CODES or status >= 500 or status == 429:
        return RetryableError(code, "SES busy or unavailable")
    return PermanentError(code, PERMANENT_CODES.get(code, "rejected by SES"))


class SesEmail:
    provider = "ses"

    def __init__(self, *, region, sender, timeout=10.0):
        # Retries are ours (with the notification's deadline in mind), not botocore's.
        config = Config(connect_timeout=timeout, read_timeout=timeout,
                        retries={"max_attempts": 1, "mode": "standard"})
        self.client = boto3.client("ses", region_name=region, config=config)
        self.sender = sender

    def send_email(self, to: str, subject: str, text: str, html: str, *,
                   notification_id: int | None = None) -> str:
        headers = unsubscribe_headers(notification_id)
        if headers:  # SES's simple API cannot carry List-Unsubscribe (RFC 8058); raw can
            return self._send_raw(to, subject, text, html, headers, notification_id)
        try:
            response = self.client.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                             "Html": {"Data": html, "Charset": "UTF-8"}},
                },
                # SES notices carry the tags: a notice is matched by the notification even
                # when it comes before the send's answer was committed.
                Tags=[{"Name": "notification", "Value": str(notification_id)}]
                if notification_id is not None else [],
            )
        except ClientError as error:
            raise classify(error) from None
        except BotoCoreError as error:
            raise RetryableError(type(error).__name__, "could not reach SES") from None
        return response["MessageId"]

    def _send_raw(self, to, subject, text, html, headers, notification_id) -> str:
        message = mime_message(self.sender, to, subject, text, html, headers)
        try:
            response = self.client.send_raw_email(
                Source=self.sender, Destinations=[to], RawMessage={"Data": message.as_bytes()},
                Tags=[{"Name": "notification", "Value": str(notification_id)}])
        except ClientError as error:
            raise classify(error) from None
        except BotoCoreError as error:
            raise RetryableError(type(error).__name__, "could not reach SES") from None
        return response["MessageId"]
