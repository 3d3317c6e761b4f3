"""The appointment system's end of our outgoing webhook, on 127.0.0.1, for tests and demos.

It verifies every POST as a receiver should: the Standard Webhooks signature with the
shared secret (the ``standardwebhooks`` library), and keeps what it accepted, one entry per
``webhook-id`` (a repeat is answered 2xx and not kept twice, as the contract asks of a
receiver). ``down`` makes it answer 503 (or drop the connection) until it is cleared.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class FakeAppointmentSystem:
    def __init__(self, secret: str):
        self.secret = secret
        self.events: dict[str, dict] = {}  # webhook-id -> body, verified and accepted
        self.posts = 0  # every POST, refused ones and repeats included
        self.refused = 0  # signatures that did not verify
        self.down = False
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/notifier"

    def start(self) -> "FakeAppointmentSystem":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.events.clear()
            self.posts = self.refused = 0
            self.down = False

    def received(self, event_type: str | None = None) -> list[dict]:
        with self._lock:
            return [body for body in self.events.values()
                    if event_type is None or body["type"] == event_type]

    def _receive(self, body: bytes, headers: dict) -> int:
        with self._lock:
            self.posts += 1
            if self.down:
                return 503
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            with self._lock:
                self.refused += 1
            return 401
        with self._lock:
            self.events.setdefault(headers["webhook-id"], json.loads(body))
        return 204

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = fake._receive(body, headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler
