"""Dev-mode channels: print each message as the patient would get it, as one framed block.

The console SMS channel refuses one documented number for good, as Twilio refuses a
landline, so that dev mode can show a permanent failure and the SMS -> e-mail fallback
without a real provider: ``+12025550142`` (a fictional 555-01xx number).
"""
import itertools
import sys
import textwrap
import threading

from actors.channels.errors import PermanentError

#: Numbers the console SMS channel refuses, with the Twilio error code it answers with.
REFUSED_SMS_NUMBERS = {"+12025550142": ("21614", "not a mobile number (dev console's landline)")}
WIDTH = 72

_ids = itertools.count(1)
_lock = threading.Lock()


def _block(title: str, lines: list[str]) -> str:
    head = f"--- {title} "
    body = [wrapped for line in lines
            for wrapped in (textwrap.wrap(line, WIDTH - 4, replace_whitespace=False) or [""])]
    return "\n".join(["", head + "-" * max(3, WIDTH - len(head)),
                      *(f"| {line}" for line in body), "-" * WIDTH, ""])


def _print(stream, text: str) -> None:
    with _lock:  # worker threads print at once; blocks must not interleave
        print(text, file=stream or sys.stdout, flush=True)


class ConsoleSms:
    provider = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        refused = REFUSED_SMS_NUMBERS.get(to)
        if refused:
            _print(self.stream, f"\n--- SMS to {to} REFUSED: {refused[0]} {refused[1]} ---\n")
            raise PermanentError(*refused)
        message_id = f"console-sms-{next(_ids)}"
        _print(self.stream, _block(f"SMS to {to} ({message_id})", body.splitlines()))
        return message_id


class ConsoleEmail:
    provider = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_email(self, to: str, subject: str, text: str, html: str, *,
                   notification_id: int | None = None) -> str:
        message_id = f"console-email-{next(_ids)}"
        _print(self.stream, _block(f"E-mail to {to} ({message_id})",
                                   [f"Subject: {subject}", "", *text.splitlines()]))
        return message_id
