"""What schemathesis needs to reach the webhook's validation: a signature on every generated
request, and the one custom string format the document names (``e164``)."""
import json
import re
from datetime import UTC, datetime

import phonenumbers
import schemathesis
from hypothesis import strategies as st
from schemathesis.core import NotSet
from standardwebhooks.webhooks import Webhook

from tests.conftest import TEST_SECRET
from web.intake import WEBHOOK_HEADERS

_SHAPES = {name: re.compile(pattern) for name, (pattern, _) in WEBHOOK_HEADERS.items()}


def _valid_numbers() -> list[str]:
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    numbers = {phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
               for region in phonenumbers.SUPPORTED_REGIONS for kind in kinds
               if (number := phonenumbers.example_number_for_type(region, kind)) is not None}
    return sorted(numbers)


# "e164" in the document: an E.164 number libphonenumber considers valid. Its examples for
# every region are exactly that, and the pattern keeps the negative cases coming.
schemathesis.openapi.format("e164", st.sampled_from(_valid_numbers()))


def _shaped(headers: dict, name: str) -> bool:
    value = headers.get(name)
    return isinstance(value, str) and bool(_SHAPES[name].fullmatch(value))


@schemathesis.hook
def before_call(context, case, kwargs):
    """Sign what is sent, as the appointment system would, where the generated headers have
    the documented shape; a header generated to break the document stays broken, so the
    negative cases still test the refusal of malformed headers."""
    if isinstance(case.body, NotSet | bytes):  # not JSON: refused unsigned, like garbage
        return
    raw = json.dumps(case.body)
    kwargs["data"] = raw.encode()
    headers = case.headers if case.headers is not None else {}
    if _shaped(headers, "webhook-timestamp"):
        headers["webhook-timestamp"] = str(int(datetime.now(UTC).timestamp()))
    if all(_shaped(headers, name) for name in WEBHOOK_HEADERS):
        at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        headers["webhook-signature"] = Webhook(TEST_SECRET).sign(headers["webhook-id"], at, raw)
    case.headers = headers
