"""Dev-mode channels: print the message where the developer is looking."""
import itertools
import sys
import threading

_ids = itertools.count(1)
_lock = threading.Lock()


class ConsoleSms:
    provider = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> str:
        message_id = f"console-sms-{next(_ids)}"
        with _lock:
            print(f"\n--- SMS to {to} ({message_id}) ---\n{body}\n", file=self.stream or sys.stdout,
                  flush=True)
        return message_id


class ConsoleEmail:
    provider = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_email(self, to: str, subject: str, text: str, html: str) -> str:
        message_id = f"console-email-{next(_ids)}"
        with _lock:
            print(f"\n--- E-mail to {to} ({message_id}) ---\nSubject: {subject}\n\n{text}\n",
                  file=self.stream or sys.stdout, flush=True)
        return message_id
