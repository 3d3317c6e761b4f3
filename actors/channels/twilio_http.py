"""Twilio's client on urllib3's connection pool: the library's ``HttpClient`` extension point.

Twilio's default client goes through requests, which for every message builds a request,
merges session settings, re-encodes the form and walks its adapter: at a thousand messages
a second that was a fifth of a worker's CPU, more than the rest of the send path. urllib3
is the pool under requests; here each request is one ``urlopen`` on it. Proxy and CA
settings (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE ...) are read once, as requests reads
them, when the client is made: they do not change while a worker runs.
"""
import json
from urllib.parse import urlencode

import certifi
import requests
import urllib3
from twilio.http import HttpClient
from twilio.http.response import Response

#: The media types Twilio's client sends as JSON (its own client does the same).
_JSON = ("application/json", "application/scim+json")


def _environment(url: str) -> tuple[str | None, str]:
    """The proxy for ``url`` and the CA bundle, as requests would read them from the
    environment (NO_PROXY honoured; its certifi bundle when nothing else is named)."""
    settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
    proxy = requests.utils.select_proxy(url, settings["proxies"])
    verify = settings["verify"]
    return proxy, verify if isinstance(verify, str) else certifi.where()


class PooledHttpClient(HttpClient):
    """One urllib3 pool per host, ``connections`` kept open, nothing retried here: a send that
    may have reached Twilio is the actor's to retry, after asking Twilio (find_sent)."""

    def __init__(self, base_url: str, *, timeout: float, connections: int, logger):
        super().__init__(logger, is_async=False, timeout=timeout)
        proxy, ca_certs = _environment(base_url)
        options = {"maxsize": connections, "ca_certs": ca_certs, "cert_reqs": "CERT_REQUIRED"}
        self.proxy = proxy
        self.pool = (urllib3.ProxyManager(proxy, **options) if proxy
                     else urllib3.PoolManager(**options))
        self._authorizations: dict = {}

    def _authorization(self, auth) -> str:
        if auth not in self._authorizations:
            self._authorizations[auth] = urllib3.make_headers(
                basic_auth=":".join(auth))["authorization"]
        return self._authorizations[auth]

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False) -> Response:
        seconds = self.timeout if timeout is None else timeout
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = self._authorization(tuple(auth))
        if params:
            uri = f"{uri}?{urlencode(params, doseq=True)}"
        body = None
        if data and headers.get("Content-Type") in _JSON:
            body = json.dumps(data)
        elif data:
            body = urlencode(data, doseq=True)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        answer = self.pool.urlopen(method, uri, body=body, headers=headers,
                                   timeout=urllib3.Timeout(connect=seconds, read=seconds),
                                   retries=False, redirect=allow_redirects)
        response = Response(answer.status, answer.data.decode("utf-8"), answer.headers)
        self._test_only_last_response = response
        return response


def unreachable_code(error: urllib3.exceptions.HTTPError) -> str:
    """The error code a failure to reach Twilio is recorded with, the names it has always had
    (requests' exception names), so dashboards and staff wording keep working."""
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            error, urllib3.exceptions.NewConnectionError):
        return "ConnectTimeout"
    return "ConnectionError"
