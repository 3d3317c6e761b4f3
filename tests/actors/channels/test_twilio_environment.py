"""The Twilio client honours the proxy and CA settings it finds in the environment at start,
and names a failure to reach Twilio as it always has."""
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import trustme

from actors.channels import RetryableError
from actors.channels.twilio_sms import TwilioSms
from tests.conftest import TWILIO_SID, TWILIO_TOKEN

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                   "all_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def channel(base_url: str, **options) -> TwilioSms:
    return TwilioSms(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN,
                     from_number="+13125550199", api_base_url=base_url, **options)


@pytest.fixture
def egress_proxy(fake_providers):
    """A forward proxy on 127.0.0.1 that takes requests for any host to the fake Twilio."""
    twilio, _ = fake_providers
    seen = []

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)  # a proxy is asked for the absolute URL
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = requests.post(twilio.url + urlsplit(self.path).path, data=body, timeout=5,
                                   headers={"Content-Type": self.headers["Content-Type"],
                                            "Authorization": self.headers["Authorization"]})
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen, twilio
    server.shutdown()
    server.server_close()


def test_a_proxy_named_in_the_environment_carries_the_messages(monkeypatch, egress_proxy):
    proxy, seen, twilio = egress_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy)
    sms = channel("http://api.twilio.example")  # only the proxy can reach this name
    monkeypatch.delenv("HTTP_PROXY")  # read once, at start: not needed per message
    sid = sms.send_sms("+13125550100", "hello")
    assert sid.startswith("SM")
    assert seen == [f"http://api.twilio.example/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"]
    assert twilio.sent_to("+13125550100")[0]["Body"] == "hello"


def test_no_proxy_sends_straight_to_twilio(monkeypatch, egress_proxy):
    proxy, seen, twilio = egress_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    channel(twilio.url).send_sms("+13125550100", "hello")
    assert seen == []
    assert len(twilio.sent_to("+13125550100")) == 1


@pytest.fixture
def twilio_over_tls(tmp_path):
    """A Twilio-like HTTPS server on 127.0.0.1 whose certificate a CA of the test's own signs."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)

    class Messages(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"sid": "SM" + "7" * 32, "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Messages)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bundle = tmp_path / "clinic-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    yield f"https://127.0.0.1:{server.server_address[1]}", bundle
    server.shutdown()
    server.server_close()


def test_the_ca_bundle_named_in_the_environment_is_the_one_trusted(monkeypatch,
                                                                   twilio_over_tls):
    url, bundle = twilio_over_tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert channel(url).send_sms("+13125550100", "hello") == "SM" + "7" * 32


def test_a_certificate_no_trusted_authority_signed_is_refused(twilio_over_tls):
    url, _ = twilio_over_tls  # no bundle named: the public authorities only
    with pytest.raises(RetryableError) as error:
        channel(url, timeout=5).send_sms("+13125550100", "hello")
    assert error.value.code == "ConnectionError"


def test_twilio_unreachable_is_a_connection_error():
    with pytest.raises(RetryableError) as error:
        channel("http://127.0.0.1:9", timeout=1).send_sms("+13125550100", "hello")
    assert error.value.code == "ConnectionError"


def test_an_answer_that_never_comes_is_a_read_timeout(fake_providers):
    twilio, _ = fake_providers
    twilio.swallow(1, seconds=3)
    with pytest.raises(RetryableError) as error:
        channel(twilio.url, timeout=1).send_sms("+13125550100", "hello")
    assert error.value.code == "ReadTimeout"
