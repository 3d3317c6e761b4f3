"""Fixtures of the ETL tests: the upstream simulator and an app pointed at it."""
import pytest

from fakes.upstream import UpstreamSimulator
from tests.actors.etl.support import FAST_ETL, TOKEN


@pytest.fixture
def upstream():
    simulator = UpstreamSimulator(token=TOKEN, page_size=50, timeout_seconds=0.5).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def etl_app(make_app, upstream):
    app = make_app(UPSTREAM_API_URL=upstream.url, **FAST_ETL)
    with app.app_context():
        yield app
