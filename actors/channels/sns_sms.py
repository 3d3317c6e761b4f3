"""SMS through AWS SNS with boto3: ``sns.publish(PhoneNumber=…)``, the second SMS provider.

``AWS_ENDPOINT_URL_SNS`` points the client elsewhere (moto's server in tests); boto3 reads
the same variable from the environment itself. SNS sends no delivery receipts to us: a
message it accepted is ``sent``, shown as accepted.
"""
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from actors.channels.errors import PermanentError, RetryableError

RETRYABLE_CODES = {"Throttling", "ThrottlingException", "ThrottledException",
                   "InternalError", "InternalFailure", "ServiceUnavailable",
                   "KMSThrottlingException", "RequestTimeout"}
PERMANENT_CODES = {
    "InvalidParameter": "invalid phone number or message",
    "InvalidParameterValue": "invalid phone number or message",
    "OptedOut": "the number opted out at SNS",
    "AuthorizationError": "not allowed to send SMS through SNS",
}


def classify(error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "Unknown")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in RETRYABLE_CODES or status >= 500 or status == 429:
        return RetryableError(code, "SNS busy or unavailable")
    return PermanentError(code, PERMANENT_CODES.get(code, "rejected by SNS"))


class SnsSms:
    provider = "sns"

    def __init__(self, *, region, endpoint_url=None, timeout=10.0):
        config = Config(connect_timeout=timeout, read_timeout=timeout,
                        retries={"max_attempts": 1, "mode": "standard"})
        self.client = boto3.client("sns", region_name=region, endpoint_url=endpoint_url or None,
                                   config=config)

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        # Transactional: SNS would otherwise send the cheapest way, which may be delayed.
        try:
            response = self.client.publish(PhoneNumber=to, Message=body, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}})
        except ClientError as error:
            raise classify(error) from None
        except BotoCoreError as error:
            raise RetryableError(type(error).__name__, "could not reach SNS") from None
        return response["MessageId"]
