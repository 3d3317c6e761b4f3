"""The Twilio client honours the proxy and CA settings it finds in the environment at start,
and names a failure to reach Twilio as it always has."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

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


def test_the_ca_bundle_named_in_the_environment_is_the_one_trusted(monkeypatch, tmp_path):
    bundle = tmp_path / "clinic-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    pool = channel("https://api.twilio.example").client.http_client.pool
    assert pool.connection_pool_kw["ca_certs"] == str(bundle)
    assert pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"


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
