"""An SMTP sink on 127.0.0.1 (aiosmtpd) that keeps every message it accepts."""
import asyncio
import logging
import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

# aiosmtpd narrates every connection at INFO, recipients included.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Collector:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.sink.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.down:
            return "421 4.3.0 service not available"
        with self.sink.lock:
            self.sink.in_flight += 1
            self.sink.most_in_flight = max(self.sink.most_in_flight, self.sink.in_flight)
        try:
            if self.sink.latency:
                await asyncio.sleep(self.sink.latency)  # a relay taking its time to answer
            message = message_from_bytes(envelope.content, policy=policy.default)
            with self.sink.lock:
                self.sink.messages.append({"to": list(envelope.rcpt_tos), "message": message})
        finally:
            with self.sink.lock:
                self.sink.in_flight -= 1
        return "250 Message accepted"


class SmtpSink:
    def __init__(self):
        self.messages: list[dict] = []
        self.refuse: set[str] = set()
        self.down = False
        self.latency = 0.0
        #: Messages being received at once, now and at most (since the last reset).
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        # aiosmtpd cannot bind port 0 (it connects to itself to check), so find a free one.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_port = probe.getsockname()[1]
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=free_port)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._controller.port

    def sent_to(self, address: str) -> list:
        with self.lock:
            return [m["message"] for m in self.messages if address in m["to"]]

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.most_in_flight = self.in_flight
        self.refuse.clear()
        self.down = False
        self.latency = 0.0
