"""X-Twilio-Signature checking against the public URL Twilio called."""
import logging
import re

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)
#: Twilio's callbacks are a few hundred bytes of form fields; this bounds what is parsed
#: before the signature can be checked.
MAX_BODY_BYTES = 64 * 1024
_SIGNATURE = re.compile(r"[A-Za-z0-9+/=]{1,100}")


def public_url() -> str:
    """The URL as Twilio saw it: behind a TLS-terminating proxy, request.url says http://
    and the internal host, and the signature would never match."""
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path
    query = request.query_string.decode()
    return f"{url}?{query}" if query else url


def require_twilio_signature() -> None:
    request.max_content_length = MAX_BODY_BYTES
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature")
    # base64 of an HMAC-SHA1; anything else (non-ASCII text makes hmac's compare raise) is
    # refused before the comparison.
    if not (token and signature and _SIGNATURE.fullmatch(signature) and
            RequestValidator(token).validate(public_url(), request.form, signature)):
        # Worth a look if it repeats: a misconfigured PUBLIC_BASE_URL or auth token
        # refuses every genuine callback too.
        log.warning("Twilio signature refused", extra={"path": request.path,
                                                       "signed": signature is not None})
        abort(403, "Missing or wrong X-Twilio-Signature.")
