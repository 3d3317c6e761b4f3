"""A Twilio-compatible Messages API on 127.0.0.1, for tests, benchmarks and demos.

It speaks the real protocol the official client uses: ``POST
/2010-04-01/Accounts/{sid}/Messages.json`` with HTTP Basic auth and a form body, answering
201 with a message resource or Twilio's error JSON (``code``, ``message``, ``status``).
"""
import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self, account_sid="AC" + "0" * 32, auth_token="test-token", latency=0.0):
        self.account_sid, self.auth_token, self.latency = account_sid, auth_token, latency
        self.messages: list[dict] = []
        self.requests = 0
        self._failures: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeTwilio":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, to: str, *, status: int, code: int, times: int = 1) -> None:
        """Answer the next ``times`` messages to ``to`` with Twilio error ``code``."""
        with self._lock:
            self._failures.setdefault(to, []).extend([(status, code)] * times)

    def sent_to(self, to: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["To"] == to]

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self.requests = 0

    def _respond(self, path: str, authorization: str | None, form: dict) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "Not found", "status": 404}
        with self._lock:
            self.requests += 1
            queue = self._failures.get(form.get("To", ""))
            if queue:
                status, code = queue.pop(0)
                return status, {"code": code, "message": f"error {code}", "status": status,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}"}
            if not form.get("To") or not form.get("Body"):
                return 400, {"code": 21602, "message": "Message body is required", "status": 400}
            sid = "SM" + uuid.uuid4().hex
            message = {"sid": sid, "account_sid": self.account_sid, "status": "queued",
                       "To": form["To"], "From": form.get("From"), "Body": form["Body"],
                       "MessagingServiceSid": form.get("MessagingServiceSid"),
                       "StatusCallback": form.get("StatusCallback"), "received_at": time.time()}
            self.messages.append(message)
        return 201, {"sid": sid, "account_sid": self.account_sid, "to": form["To"],
                     "from": form.get("From"), "body": form["Body"], "status": "queued",
                     "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                     "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if fake.latency:
                    time.sleep(fake.latency)
                status, body = fake._respond(self.path, self.headers.get("Authorization"), form)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # keep phone numbers out of test output
                pass

        return Handler
