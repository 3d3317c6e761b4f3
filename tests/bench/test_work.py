"""The peers' per-message POST: requests for the usual peers, urllib3 for bare-urllib3."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from bench import sending, work


@pytest.fixture
def provider():
    """A Messages endpoint on 127.0.0.1 that keeps each request's User-Agent."""
    agents = []

    class Messages(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            agents.append(self.headers["User-Agent"])
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Messages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}"), agents
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("system,client", [("bare", "python-requests/"),
                                           ("bare-urllib3", "python-urllib3/")])
def test_each_bare_peer_posts_through_its_own_http_client(monkeypatch, provider, system,
                                                          client):
    fake, agents = provider
    env = sending.system_env(system, "postgresql://127.0.0.1/unused", "amqp://unused", fake, 4)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "BENCH_HTTP" not in env:
        monkeypatch.delenv("BENCH_HTTP", raising=False)
    state = work._setup()  # builds the engine without connecting
    state["post"]({"To": "+13125550100", "From": "+13125550199", "Body": work.BODY})
    assert len(agents) == 1 and agents[0].startswith(client)
