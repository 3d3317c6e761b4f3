"""The upstream appointment API on 127.0.0.1, with the failures the real one has.

Serves the contract of docs/architecture.md, "The upstream API":
``GET /appointments?from=YYYY-MM-DD&to=YYYY-MM-DD&page_token=T`` with a bearer token,
answering ``{"appointments": [...], "next_page_token": "T2" | null}``.
An appointment is in the window when its local date (the date of ``starts_at`` in its own
offset) is between ``from`` and ``to``, both included. Pages are in id order, so moving an
appointment between two page reads never shifts the pages.

Failures are injected at ``failure_rate`` from ``failure_kinds``, drawn from a seeded
random generator so a test sees the same sequence every run:

- ``5xx``: 500, 502 or 503          - ``429``: Too Many Requests with ``Retry-After``
- ``timeout``: answers only after ``timeout_seconds`` (past the client's read timeout)
- ``reset``: the connection is reset (TCP RST) before any answer
- ``truncated``: a 200 whose JSON body is cut short (Content-Length agrees, so only the
  parser can tell)
- ``malformed-record``: a 200 with one record garbled in transit (a field dropped or mangled)
"""
import copy
import json
import random
import socket
import struct
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

FAILURE_KINDS = ("5xx", "429", "timeout", "reset", "truncated", "malformed-record")

LOCATIONS = [
    {"id": "L-1", "name": "Main St Clinic", "address": "1 Main St, Springfield",
     "phone": "+13125550123", "timezone": "America/New_York"},
    {"id": "L-2", "name": "Lakeside Clinic", "address": "200 Lake Shore Dr, Chicago",
     "phone": "+13125550124", "timezone": "America/Chicago"},
    {"id": "L-3", "name": "Bay Clinic", "address": "9 Bay St, Oakland",
     "phone": "+13125550125", "timezone": "America/Los_Angeles"},
]
GIVEN_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
FAMILY_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


def generate_appointments(count: int, *, start: date, days: int, seed: int = 1,
                          first_number: int = 1) -> list[dict]:
    """``count`` valid appointments spread over ``days`` days from ``start`` (deterministic)."""
    rng = random.Random(seed)
    updated_at = datetime.combine(start, time(0), UTC) - timedelta(days=7)
    records = []
    for number in range(first_number, first_number + count):
        location = LOCATIONS[number % len(LOCATIONS)]
        day = start + timedelta(days=number % days)
        local = datetime.combine(day, time(8 + rng.randrange(9), rng.choice((0, 15, 30, 45))),
                                 ZoneInfo(location["timezone"]))
        channel = rng.choice(("sms", "email", "both"))
        records.append({
            "id": f"A-{number:06d}", "status": "booked",
            "starts_at": local.isoformat(),
            "updated_at": (updated_at + timedelta(seconds=number)).isoformat(),
            "location": dict(location),
            "patient": {"id": f"P-{number:06d}", "given_name": rng.choice(GIVEN_NAMES),
                        "family_name": rng.choice(FAMILY_NAMES),
                        "phone": f"+1312555{number % 10000:04d}",
                        "email": f"patient{number}@example.org",
                        "preferred_channel": channel, "language": rng.choice(("en", "en", "es"))},
        })
    return records


def _local_date(record: dict) -> date:
    return datetime.fromisoformat(record["starts_at"]).date()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # resets and abandoned (timed-out) requests are the point, not news


class UpstreamSimulator:
    def __init__(self, *, token: str = "upstream-test-token", page_size: int = 100,
                 failure_rate: float = 0.0, failure_kinds=FAILURE_KINDS, seed: int = 1,
                 timeout_seconds: float = 1.0, retry_after: int = 1):
        self.token, self.page_size = token, page_size
        self.timeout_seconds, self.retry_after = timeout_seconds, retry_after
        self.requests = 0
        self.failures: Counter = Counter()
        self.is_down = False
        self._records: dict[str, dict] = {}
        self._corrupt: dict[str, dict] = {}
        # (from, to) -> the ids in that window, in id order; emptied by every change. Without
        # it each request would sort and date every record: at 100,000 records the fake,
        # not the pull, would set the pace.
        self._windows: dict[tuple[date, date], list[str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.fail(failure_rate, kinds=failure_kinds, seed=seed)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "UpstreamSimulator":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- data ---
    def seed(self, count: int, *, start: date, days: int, seed: int = 1,
             first_number: int = 1) -> list[str]:
        """Add ``count`` generated appointments; returns their ids."""
        records = generate_appointments(count, start=start, days=days, seed=seed,
                                        first_number=first_number)
        with self._lock:
            for record in records:
                self._records[record["id"]] = record
            self._windows.clear()
        return [record["id"] for record in records]

    def put(self, record: dict) -> None:
        with self._lock:
            self._records[record["id"]] = copy.deepcopy(record)
            self._windows.clear()

    def appointment(self, appointment_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._records[appointment_id])

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._records)

    def move(self, appointment_id: str, *, minutes: int = 60,
             updated_at: datetime | None = None) -> dict:
        """Move an appointment's start, as a clinic rescheduling it would."""
        with self._lock:
            record = self._records[appointment_id]
            starts_at = datetime.fromisoformat(record["starts_at"]) + timedelta(minutes=minutes)
            record["starts_at"] = starts_at.isoformat()
            record["updated_at"] = self._next_updated_at(record, updated_at)
            self._windows.clear()
            return copy.deepcopy(record)

    def touch(self, appointment_id: str) -> dict:
        """Bump updated_at without changing anything a patient would notice."""
        with self._lock:
            record = self._records[appointment_id]
            record["updated_at"] = self._next_updated_at(record, None)
            return copy.deepcopy(record)

    def remove(self, appointment_id: str) -> None:
        with self._lock:
            del self._records[appointment_id]
            self._windows.clear()

    def corrupt(self, appointment_id: str, **changes) -> None:
        """Serve this record with bad data every time, e.g. ``corrupt(id, phone="12")``
        (keys name patient fields, or ``starts_at``/``status``; None drops the field)."""
        with self._lock:
            self._corrupt[appointment_id] = changes

    @staticmethod
    def _next_updated_at(record: dict, updated_at: datetime | None) -> str:
        previous = datetime.fromisoformat(record["updated_at"])
        chosen = updated_at or max(datetime.now(UTC), previous + timedelta(seconds=1))
        return chosen.astimezone(UTC).isoformat()

    # --- failures ---
    def fail(self, rate: float, *, kinds=FAILURE_KINDS, seed: int = 1) -> None:
        """Inject failures at ``rate`` (0..1) from ``kinds`` from now on."""
        unknown = set(kinds) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(f"unknown failure kinds: {sorted(unknown)}")
        with self._lock:
            self.failure_rate, self.failure_kinds = rate, tuple(kinds)
            self._rng = random.Random(seed)

    def down(self, is_down: bool = True) -> None:
        """Answer every request 503 (with Retry-After) until ``down(False)``."""
        self.is_down = is_down

    # --- serving ---
    def _served(self, record: dict) -> dict:
        changes = self._corrupt.get(record["id"])
        if not changes:
            return record
        record = copy.deepcopy(record)
        for name, value in changes.items():
            target = record if name in ("starts_at", "status", "updated_at") else record["patient"]
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
        return record

    def _page(self, query: dict) -> tuple[int, dict]:
        try:
            first = date.fromisoformat(query["from"])
            last = date.fromisoformat(query["to"])
            offset = int(query.get("page_token") or 0)
        except (KeyError, ValueError):
            return 400, {"error": "from and to (YYYY-MM-DD) are required; page_token as given"}
        with self._lock:
            matching = self._windows.get((first, last))
            if matching is None:
                matching = self._windows[first, last] = [
                    i for i in sorted(self._records)
                    if first <= _local_date(self._records[i]) <= last]
            # Copies, so that a change made while the page is being written cannot tear a
            # record: top-level fields are all the changes above replace (_served and
            # _garble copy deeply what they alter).
            page = [dict(self._served(self._records[i]))
                    for i in matching[offset:offset + self.page_size]]
        more = offset + self.page_size < len(matching)
        return 200, {"appointments": page,
                     "next_page_token": str(offset + self.page_size) if more else None}

    def _draw_failure(self) -> tuple[str | None, random.Random]:
        with self._lock:
            self.requests += 1
            if self.is_down:
                self.failures["down"] += 1
                return "down", self._rng
            if self._rng.random() >= self.failure_rate or not self.failure_kinds:
                return None, self._rng
            kind = self._rng.choice(self.failure_kinds)
            self.failures[kind] += 1
            # A generator of its own per failure keeps the shared one's sequence the
            # same whatever threads interleave after this point.
            return kind, random.Random(self._rng.random())

    def _handler(self):
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, payload: bytes, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _reset(self):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != "/appointments":
                    return self._send(404, b'{"error": "not found"}')
                if self.headers.get("Authorization") != f"Bearer {sim.token}":
                    return self._send(401, b'{"error": "bad or missing bearer token"}')
                kind, rng = sim._draw_failure()
                retry_after = [("Retry-After", str(sim.retry_after))]
                if kind == "down":
                    return self._send(503, b'{"error": "unavailable"}', retry_after)
                if kind == "5xx":
                    return self._send(rng.choice((500, 502, 503)), b'{"error": "upstream"}')
                if kind == "429":
                    return self._send(429, b'{"error": "slow down"}', retry_after)
                if kind == "reset":
                    return self._reset()
                if kind == "timeout" and sim._stopping.wait(sim.timeout_seconds):
                    return self._reset()
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, body = sim._page(query)
                if kind == "malformed-record" and body.get("appointments"):
                    records = body["appointments"]
                    index = rng.randrange(len(records))
                    records[index] = _garble(records[index], rng)
                payload = json.dumps(body).encode()
                if kind == "truncated":
                    payload = payload[:rng.randrange(1, len(payload))]
                try:
                    self._send(status, payload)
                except OSError:
                    pass  # the client gave up waiting (the "timeout" failure)

            def log_message(self, *args):  # keep patient data out of test output
                pass

        return Handler


def _garble(record: dict, rng: random.Random):
    """Damage in transit: a dropped field, a mangled value, or no object at all."""
    record = copy.deepcopy(record)
    how = rng.randrange(4)
    if how == 0:
        record.pop(rng.choice(("starts_at", "updated_at", "patient", "location")))
    elif how == 1:
        record["patient"]["phone"] = "+1-3#2"
    elif how == 2:
        record["starts_at"] = record["starts_at"][:7]
    else:
        return json.dumps(record)[:40]
    return record

