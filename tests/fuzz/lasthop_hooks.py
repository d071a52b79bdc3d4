"""Schemathesis hooks for lasthop: sign each request exactly as the real caller would.

`tests/tests/api_fuzz.rs` runs `st run` with this module loaded (`SCHEMATHESIS_HOOKS`) and hands
it the key material of the stack it started, in the environment:

- `LASTHOP_FUZZ_EDGE_SECRETS`: the edge's secrets line (base64url JSON, the format of
  `lasthop_core::keys::EdgeSecrets::encode`). Its `edge_request` key signs calls to the origin's
  `/internal/` routes, as the edge does; its `origin_push` key signs calls to the edge's
  `/internal/` routes, as the origin does (`lasthop_core::signing`).
- `LASTHOP_FUZZ_DEVICE_SEED` (64 hex chars, the scanner device's Ed25519 seed) and
  `LASTHOP_FUZZ_SCANNER_TID` (32 hex chars, the `tid` of the scanner's credential): courier
  requests are signed as the terminal signs them (`lasthop_core::device`).

Where the document declares a signature as a security scheme (the edge's `device_signature` and
`origin_push_signature`), the configuration's credential for it is the placeholder
`sign-in-hook`: only a request that carries the placeholder is signed, so schemathesis' own
probes that remove or replace the credential (the `ignored_auth` check) go out unsigned and
must be refused. The origin's `/internal/` routes declare no such scheme (the edge's signature
is below the contract), so every request to them is signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PLACEHOLDER = "sign-in-hook"
SCAN_TEXT_PREFIX = "lasthop-scan/v1"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class _RequestKey:
    """The current HMAC request key of one purpose from the edge secrets line (format 2:
    `{"current": N, "keys": {"N": "<base64>", ...}}`)."""

    def __init__(self, purpose: str, wire: dict) -> None:
        current = wire["current"]
        self.key_id = f"{purpose}-v{current}"
        self.secret = base64.b64decode(wire["keys"][str(current)])
        if len(self.secret) != 32:
            raise ValueError(f"{self.key_id}: not a 32-byte key")

    def headers(self, method: str, path_and_query: str, body: bytes, authorization: str | None) -> dict:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        auth = hashlib.sha256(authorization.encode()).hexdigest() if authorization is not None else "-"
        text = "\n".join(
            [method.upper(), path_and_query, timestamp, nonce, hashlib.sha256(body).hexdigest(), auth]
        )
        signature = hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()
        return {
            "x-lasthop-key-id": self.key_id,
            "x-lasthop-timestamp": timestamp,
            "x-lasthop-nonce": nonce,
            "x-lasthop-signature": signature,
        }


class _Device:
    """The scanner's device: its Ed25519 key and its credential's `tid`."""

    def __init__(self, seed_hex: str, tid: str) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        self.tid = tid

    def headers(self, method: str, path: str, body: bytes) -> dict:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        text = "\n".join(
            [SCAN_TEXT_PREFIX, method.upper(), path, hashlib.sha256(body).hexdigest(), self.tid, timestamp, nonce]
        )
        return {
            "x-lasthop-device-timestamp": timestamp,
            "x-lasthop-device-nonce": nonce,
            "x-lasthop-device-signature": _b64url_encode(self.key.sign(text.encode())),
        }


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this through tests/tests/api_fuzz.rs")
    return value


_SECRETS = json.loads(_b64url_decode(_required("LASTHOP_FUZZ_EDGE_SECRETS").strip()))
EDGE_REQUEST = _RequestKey("edge-request", _SECRETS["edge_request"])
ORIGIN_PUSH = _RequestKey("origin-push", _SECRETS["origin_push"])
DEVICE = _Device(_required("LASTHOP_FUZZ_DEVICE_SEED"), _required("LASTHOP_FUZZ_SCANNER_TID"))
# Which service the run targets: `origin` or `edge`.
TARGET = _required("LASTHOP_FUZZ_TARGET")


class _Sign(requests.auth.AuthBase):
    """Signs the prepared request: the exact method, path, query, body and Authorization sent."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        path_and_query = request.path_url
        path = path_and_query.split("?", 1)[0]
        headers = request.headers
        authorization = headers.get("authorization")
        if TARGET == "origin" and path.startswith("/internal/"):
            headers.update(EDGE_REQUEST.headers(request.method, path_and_query, body, authorization))
        elif headers.get("x-lasthop-signature") == PLACEHOLDER:
            headers.update(ORIGIN_PUSH.headers(request.method, path_and_query, body, authorization))
        if headers.get("x-lasthop-device-signature") == PLACEHOLDER:
            headers.update(DEVICE.headers(request.method, path, body))
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = _Sign()
