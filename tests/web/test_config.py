"""Settings: read once from the environment, with clear errors and a README that matches."""
import pytest

from web import create_app
from web.config import SETTINGS, ConfigError, settings_from_env


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
