"""Settings: read once from the environment, with clear errors and a README that matches."""
import pytest

from web import create_app
from web.config import SETTINGS, ConfigError, settings_from_env
from web.settings_doc import README, section


def test_every_setting_has_a_default_or_is_optional_and_a_doc():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.doc for s in SETTINGS)


def test_defaults_apply_when_the_environment_is_empty():
    settings = settings_from_env({})
    assert settings["BROKER_URL"] is None and settings["SMS_CHANNEL"] == "console"


@pytest.mark.parametrize("name,value", [("SMTP_PORT", "twenty-five"), ("SMS_CHANNEL", "pigeon"),
                                         ("SMTP_STARTTLS", "perhaps"), ("SMTP_PORT", "-1")])
def test_a_bad_value_names_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        settings_from_env({name: value})


def test_create_app_refuses_a_bad_environment(monkeypatch):
    monkeypatch.setenv("EMAIL_CHANNEL", "carrier-pigeon")
    with pytest.raises(ConfigError, match="EMAIL_CHANNEL"):
        create_app()


def test_a_real_deployment_refuses_the_dev_webhook_secret(monkeypatch):
    monkeypatch.setenv("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        create_app()


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(make_app):
    from flask import request
    app = make_app(TRUSTED_PROXY_HOPS=1)
    app.add_url_rule("/_whoami", "whoami", lambda: request.remote_addr)
    answer = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert answer.text == "203.0.113.7"
    untrusted = make_app()
    untrusted.add_url_rule("/_whoami", "whoami", lambda: request.remote_addr)
    answer = untrusted.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert answer.text != "203.0.113.7"
def test_readme_lists_every_setting_with_its_default():
    assert section() in README.read_text(), (
        "README's settings table is out of date: run `python -m web.settings_doc --write`")
