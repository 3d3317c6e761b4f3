"""Amazon SNS message signatures (SignatureVersion 1: SHA1, 2: SHA256, RSA PKCS#1 v1.5).

No maintained Python package verifies SNS messages, so this follows AWS's documented
procedure with ``cryptography``: the signing certificate must come over https from an
allow-listed host (SNS_CERT_HOSTS), and the signature must cover the documented fields.
"""
import base64
import binascii
import threading
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
LOOPBACK = "127.0.0.1"


class SnsVerificationError(Exception):
    """The message is not provably from SNS."""


def host_patterns(setting: str | None) -> list[str]:
    return [p.strip().lower() for p in (setting or "").split(",") if p.strip()]


def url_allowed(url: str, patterns: list[str]) -> bool:
    """https from an allow-listed host; plain http only for an allow-listed 127.0.0.1."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except (TypeError, ValueError):  # "https://[::1", a number: no URL at all
        return False
    if parts.scheme != "https" and not (parts.scheme == "http" and host == LOOPBACK):
        return False
    return any(fnmatchcase(host, pattern) for pattern in patterns)


def string_to_sign(message: dict) -> bytes:
    fields = SIGNED_FIELDS.get(message.get("Type"))
    if fields is None:
        raise SnsVerificationError("unknown message type")
    return "".join(f"{name}\n{message[name]}\n" for name in fields
                   if message.get(name) is not None).encode()


class CertificateCache:
    """Signing certificates by URL; SNS rotates them rarely, so one fetch each."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._certificates: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        with self._lock:
            if url in self._certificates:
                return self._certificates[url]
        try:
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
            certificate = x509.load_pem_x509_certificate(response.content)
        except (requests.RequestException, ValueError) as error:
            raise SnsVerificationError(f"signing certificate unavailable: "
                                       f"{type(error).__name__}") from None
        with self._lock:
            self._certificates[url] = certificate
        return certificate


def _check_shape(message: dict) -> None:
    # Read before anything is verified: every field SNS signs or names is text, or absent.
    names = {"Signature", "SigningCertURL", "SigningCertUrl", "SignatureVersion", "Type",
             *(name for fields in SIGNED_FIELDS.values() for name in fields)}
    if any(not isinstance(message.get(name), str | None) for name in names):
        raise SnsVerificationError("a signed field is not text")
    if message.get("Type") not in SIGNED_FIELDS:
        raise SnsVerificationError("unknown message type")


def verify(message: dict, *, patterns: list[str], certificates: CertificateCache) -> None:
    """Raise SnsVerificationError unless ``message`` carries a valid SNS signature."""
    _check_shape(message)
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise SnsVerificationError("unsupported SignatureVersion")
    cert_url = message.get("SigningCertURL") or message.get("SigningCertUrl") or ""
    if not url_allowed(cert_url, patterns) or not urlsplit(cert_url).path.endswith(".pem"):
        raise SnsVerificationError("signing certificate URL not allow-listed")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except binascii.Error:
        raise SnsVerificationError("signature is not base64") from None
    public_key = certificates.get(cert_url).public_key()
    try:
        public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except (InvalidSignature, TypeError, ValueError):
        raise SnsVerificationError("bad signature") from None
