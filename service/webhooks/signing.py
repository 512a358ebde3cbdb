"""Standard Webhooks signatures (https://www.standardwebhooks.com/), through the
`standardwebhooks` package, and the secrets they are made with.

Each attempt carries `webhook-id` (fixed for the delivery), `webhook-timestamp` (the
attempt's time, so receivers' replay windows accept retries) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret that is valid,
separated by spaces. During a rotation's grace period both the new and the previous
secret sign, so receivers can switch keys whenever they like.

Secrets are `whsec_` + base64 of 32 random bytes. HMAC needs the secret itself, so it is
stored server-side; with `WEBHOOK_SECRET_KEY` set it is encrypted at rest (Fernet, key
derived from the setting), otherwise kept as is. Secrets never go to logs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets as _secrets
from collections.abc import Sequence

from standardwebhooks import Webhook

from service.config import get_settings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_SEALED_PREFIX = "fernet:"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """One `v1,<signature>` entry."""
    return Webhook(secret).sign(msg_id, dt.datetime.fromtimestamp(timestamp, dt.UTC), body)


def headers(msg_id: str, timestamp: int, body: str, signing_secrets: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers; the newest secret signs first."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in signing_secrets),
    }


def _fernet():  # imported lazily: only needed when encryption at rest is configured
    from cryptography.fernet import Fernet

    key = get_settings().webhook_secret_key
    if not key:
        return None
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def seal(secret: str) -> str:
    """The form a secret is stored in."""
    fernet = _fernet()
    if fernet is None:
        return secret
    return _SEALED_PREFIX + fernet.encrypt(secret.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(_SEALED_PREFIX):
        return stored
    fernet = _fernet()
    if fernet is None:
        raise RuntimeError("a webhook secret is encrypted but WEBHOOK_SECRET_KEY is not set")
    return fernet.decrypt(stored[len(_SEALED_PREFIX) :].encode()).decode()
