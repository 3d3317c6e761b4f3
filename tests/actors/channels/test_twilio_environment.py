"""The Twilio client reads proxy and CA settings once, at start, and still honours them."""
from actors.channels.twilio_sms import TwilioSms


def adapter() -> TwilioSms:
    return TwilioSms(account_sid="AC" + "0" * 32, auth_token="token",
                     from_number="+13125550199", api_base_url="https://api.twilio.example")


def test_a_proxy_named_in_the_environment_is_used_without_reading_it_per_request(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.clinic.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/clinic-ca.pem")
    session = adapter().client.http_client.session
    assert session.proxies["https"] == "http://egress.clinic.internal:3128"
    assert session.verify == "/etc/ssl/clinic-ca.pem"
    assert session.trust_env is False  # the environment is not read again for each message


def test_without_proxy_settings_requests_go_direct_and_verify_certificates(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    session = adapter().client.http_client.session
    assert "https" not in session.proxies
    assert session.verify is True
