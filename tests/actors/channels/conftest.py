"""moto's AWS server on 127.0.0.1 (SNS and SES), one per module, with test credentials."""
import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="module")
def aws_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch):
    # boto3 reads these itself, as it does in production.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
