"""Helpers of the failover tests: reminders to send, one send attempt at a time, and an AWS
front that answers 503 to everything while its outage is on."""
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dramatiq
import requests
from sqlalchemy import select

from actors.delivery import deliver
from actors.reminders.keys import reminder_key
from db import Appointment, Notification, create_notifications, db, utcnow
from tests.actors.test_broadcasts import _book


def reminders(location, numbers, channel: str, *, window_hours: int = 2) -> list[int]:
    """Queued reminders for new appointments today, whose window closes in
    ``window_hours`` (their deadline, as planning sets it)."""
    today = utcnow().date()
    for number in numbers:
        _book(location, today, number)
    db.session.flush()
    now = utcnow()
    rows = []
    for appointment in db.session.scalars(select(Appointment).where(
            Appointment.external_id.in_([f"A-{n}" for n in numbers]))):
        rows.append({"appointment_id": appointment.id, "patient_id": appointment.patient_id,
                     "kind": "reminder", "channel": channel, "revision": appointment.revision,
                     "status": "queued", "queued_at": now, "due_at": now,
                     "deadline_at": now + timedelta(hours=window_hours),
                     "dedupe_key": reminder_key(appointment.id, today, channel)})
    created = create_notifications(rows, source="test", now=now)
    db.session.commit()
    return [row.id for row in created]


def attempt(notification_ids) -> list[str]:
    """One send attempt of each notification through the send actor's function, as a worker
    runs it; "retry" where it asked to be retried."""
    outcomes = []
    for notification_id in notification_ids:
        try:
            deliver(notification_id)
            outcomes.append("done")
        except dramatiq.Retry:
            outcomes.append("retry")
    return outcomes


def rows(notification_ids) -> list[Notification]:
    db.session.rollback()
    return list(db.session.scalars(select(Notification).where(
        Notification.id.in_(notification_ids)).order_by(Notification.id)))


class AwsFront:
    """HTTP in front of moto's server: forwards every request, or answers 503
    ServiceUnavailable (AWS's query-protocol error) to all of them while ``outage`` is set."""

    def __init__(self, target: str):
        self.target, self.outage, self.requests = target, False, 0
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                front.requests += 1
                if front.outage:
                    status, payload, kind = 503, front.UNAVAILABLE, "text/xml"
                else:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "content-length")}
                    answer = requests.post(front.target + self.path, data=body,
                                           headers=headers, timeout=10)
                    status, payload = answer.status_code, answer.content
                    kind = answer.headers.get("Content-Type", "text/xml")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # addresses stay out of test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    UNAVAILABLE = (b'<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable'
                   b'</Code><Message>Service is unavailable</Message></Error>'
                   b'<RequestId>0</RequestId></ErrorResponse>')

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "AwsFront":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
