"""The fault scenarios' figures, printed at the end of the run (``make chaos`` shows them)."""
import pytest

from tests.faults.harness import System

FIGURES = []


@pytest.fixture
def system(make_app, fake_providers, database_url, rabbitmq_url):
    twilio, smtp = fake_providers
    world = System(make_app, twilio, smtp, database_url, rabbitmq_url)
    yield world
    world.close()
    twilio.latency = 0.0


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault scenarios: at the providers")
        for figures in FIGURES:
            terminalreporter.write_line(figures.line())
