"""A last line of defence: strip anything shaped like a phone number or e-mail address.

The code logs ids, never patient data (docs/architecture.md, rule 7); this catches what
slips through a third-party library's message or an exception's text.
"""
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International (E.164-like, with +) and North American formatted numbers.
PHONE = re.compile(r"\+\d[\d ().-]{6,}\d|\(\d{3}\)\s?\d{3}-\d{4}")


# The value of a query-string parameter (an admin search for a name): kept out of any log
# line that quotes a URL, e.g. the dev server's request lines.
QUERY_VALUE = re.compile(r"([?&][\w.\[\]-]+=)[^&\s\"']+")


def redact(text: str) -> str:
    return QUERY_VALUE.sub(r"\1[redacted]", PHONE.sub("[phone]", EMAIL.sub("[email]", text)))


def redact_deep(value):
    """Redact every string inside nested dicts and lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_deep(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_deep(item) for item in value]
    return value
