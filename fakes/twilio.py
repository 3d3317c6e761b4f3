"""A Twilio-compatible Messages API on 127.0.0.1, for tests, benchmarks and demos.

It speaks the real protocol the official client uses: ``POST
/2010-04-01/Accounts/{sid}/Messages.json`` with HTTP Basic auth and a form body, answering
201 with a message resource or Twilio's error JSON (``code``, ``message``, ``status``), and
the list call ``GET …/Messages.json?To=…&DateSent>=…`` that reconciliation asks (filtered by
day, as Twilio filters ``DateSent``, newest first, in Twilio's page shape).

Faults for the tests: an error for every request while ``outage`` is set (a 503 storm), a
delivery receipt POSTed to the message's ``StatusCallback`` (signed as Twilio signs it)
before the send is answered, and sends that are accepted but whose answer never comes.
"""
import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator


class FakeTwilio:
    def __init__(self, account_sid="AC" + "0" * 32, auth_token="test-token", latency=0.0):
        self.account_sid, self.auth_token, self.latency = account_sid, auth_token, latency
        self.messages: list[dict] = []
        self.requests = 0  # send requests; the list calls are counted in ``lists``
        self.lists = 0
        self._failures: dict[str, list[tuple[int, int]]] = {}
        #: (status, code) answered to every request while set: a provider outage.
        self.outage: tuple[int, int] | None = None
        #: A receipt status ("delivered") POSTed to the StatusCallback before answering.
        self.receipt_first: str | None = None
        #: Where receipts go: the public base URL Twilio would call -> a local one.
        self.callback_rewrite: tuple[str, str] | None = None
        self.receipts_sent = 0
        self._swallow = 0
        self.swallow_seconds = 30.0
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

    def swallow(self, times: int = 1, *, seconds: float = 30.0) -> None:
        """Accept the next ``times`` messages but answer only after ``seconds`` (the client
        times out first): the provider has the message, the sender does not know it."""
        with self._lock:
            self._swallow += times
            self.swallow_seconds = seconds

    def sent_to(self, to: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["To"] == to]

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self.requests = self.lists = 0
            self.outage = self.receipt_first = self.callback_rewrite = None
            self.receipts_sent = self._swallow = 0

    def duplicates(self) -> int:
        """Messages beyond the first with the same number and text."""
        with self._lock:
            keys = [(m["To"], m["Body"]) for m in self.messages]
        return len(keys) - len(set(keys))

    def _error(self, status: int, code: int) -> tuple[int, dict]:
        return status, {"code": code, "message": f"error {code}", "status": status,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}"}

    def _authorized(self, authorization: str | None) -> bool:
        expected = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return authorization == expected

    def _list(self, path: str, authorization: str | None, query: dict) -> tuple[int, dict]:
        if not self._authorized(authorization):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "Not found", "status": 404}
        with self._lock:
            self.lists += 1
            if self.outage:
                return self._error(*self.outage)
            # Twilio compares DateSent by day: "2026-12-01T10:00:00Z" means that day on.
            day = (query.get("DateSent>") or "0000-00-00")[:10]
            found = [m for m in reversed(self.messages)
                     if m["To"] == query.get("To", m["To"]) and m["day"] >= day]
        size = int(query.get("PageSize") or 50)
        uri = urlsplit(path).path
        return 200, {"messages": [self._resource(m) for m in found[:size]], "end": 0,
                     "first_page_uri": uri, "next_page_uri": None, "page": 0,
                     "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri}

    def _resource(self, message: dict) -> dict:
        sid = message["sid"]
        return {"sid": sid, "account_sid": self.account_sid, "to": message["To"],
                "from": message.get("From"), "body": message["Body"],
                "status": message["status"], "num_segments": "1",
                "direction": "outbound-api", "api_version": "2010-04-01",
                "date_created": message["date_created"], "date_sent": message["date_created"],
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}

    def _send_receipt(self, message: dict, status: str) -> None:
        """POST a status callback for ``message`` as Twilio does: signed over its URL."""
        url = message.get("StatusCallback")
        if not url:
            return
        form = {"MessageSid": message["sid"], "SmsSid": message["sid"], "MessageStatus": status,
                "SmsStatus": status, "AccountSid": self.account_sid, "To": message["To"]}
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        target = url
        if self.callback_rewrite and url.startswith(self.callback_rewrite[0]):
            target = self.callback_rewrite[1] + url[len(self.callback_rewrite[0]):]
        try:
            requests.post(target, data=form, headers={"X-Twilio-Signature": signature},
                          timeout=10)
        except requests.RequestException:
            return  # Twilio retries a callback later; a lost one is what the test measures
        with self._lock:
            message["status"] = status
            self.receipts_sent += 1

    def _respond(self, path: str, authorization: str | None, form: dict) -> tuple[int, dict]:
        if not self._authorized(authorization):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "Not found", "status": 404}
        with self._lock:
            self.requests += 1
            if self.outage:
                return self._error(*self.outage)
            queue = self._failures.get(form.get("To", ""))
            if queue:
                return self._error(*queue.pop(0))
            if not form.get("To") or not form.get("Body"):
                return 400, {"code": 21602, "message": "Message body is required", "status": 400}
            sid, now = "SM" + uuid.uuid4().hex, datetime.now(UTC)
            message = {"sid": sid, "account_sid": self.account_sid, "status": "queued",
                       "To": form["To"], "From": form.get("From"), "Body": form["Body"],
                       "MessagingServiceSid": form.get("MessagingServiceSid"),
                       "StatusCallback": form.get("StatusCallback"), "received_at": time.time(),
                       "date_created": format_datetime(now), "day": now.date().isoformat()}
            self.messages.append(message)
            swallow = self._swallow > 0
            self._swallow -= swallow
        if self.receipt_first:
            self._send_receipt(message, self.receipt_first)
        if swallow:
            time.sleep(self.swallow_seconds)
        return 201, self._resource(message)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if fake.latency:
                    time.sleep(fake.latency)
                status, body = fake._respond(self.path, self.headers.get("Authorization"), form)
                self._answer(status, body)

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, body = fake._list(parts.path, self.headers.get("Authorization"), query)
                self._answer(status, body)

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timed out) before the answer

            def log_message(self, *args):  # keep phone numbers out of test output
                pass

        return Handler
