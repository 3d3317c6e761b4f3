"""A patient's SMS reply as Twilio delivers it: a form POSTed to our inbound webhook, signed
over the public URL with the account's auth token (X-Twilio-Signature)."""
import uuid

import requests
from twilio.request_validator import RequestValidator

INBOUND_PATH = "/api/v1/twilio/inbound"


def inbound_form(sender: str, body: str, *, to: str, account_sid: str,
                 message_sid: str | None = None) -> dict:
    sid = message_sid or "SM" + uuid.uuid4().hex
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": account_sid, "From": sender,
            "To": to, "Body": body, "NumMedia": "0"}


def post_reply(base_url: str, public_base_url: str, auth_token: str, form: dict,
               timeout: float = 10.0) -> requests.Response:
    """POST ``form`` to the app at ``base_url``, signed for ``public_base_url`` (the
    address Twilio is configured to call)."""
    signature = RequestValidator(auth_token).compute_signature(
        public_base_url.rstrip("/") + INBOUND_PATH, form)
    return requests.post(base_url.rstrip("/") + INBOUND_PATH, data=form,
                         headers={"X-Twilio-Signature": signature}, timeout=timeout)
