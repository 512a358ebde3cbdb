"""JWT verification: every forged, stale or malformed token is a 401 problem, and a
correctly made one (the positive control) is accepted, so each refusal is meaningful."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from service.auth import tokens
from service.config import get_settings

URL = "/api/v1/employees"
SECRET = os.environ["JWT_SECRET"]
PROBLEM = "application/problem+json"

_trusted_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(org_id: uuid.UUID | str, **overrides: Any) -> dict[str, Any]:
    settings = get_settings()
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user-1",
        "org": str(org_id),
        "roles": ["admin"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    }
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def hs256(payload: dict[str, Any], secret: str = SECRET, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def assert_401(resp: Any) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == 401
    assert {"type", "title", "status", "detail"} <= set(body)
    assert "items" not in body
    assert "Traceback" not in resp.text


async def call(client: Any, token: str | None, scheme: str = "Bearer") -> Any:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return await client.get(URL, headers=headers)


# --- positive controls ------------------------------------------------------------------


async def test_hand_made_token_is_accepted(tenant):
    """The tokens below differ from this one in exactly one respect."""
    emp = await tenant.add_employee("ann")
    resp = await call(tenant.client, hs256(claims(tenant.org_id)))
    assert resp.status_code == 200, resp.text
    assert [e["id"] for e in resp.json()["items"]] == [emp["id"]]


async def test_local_kid_is_accepted(tenant):
    resp = await call(tenant.client, hs256(claims(tenant.org_id), headers={"kid": "local"}))
    assert resp.status_code == 200, resp.text


# --- forged and broken tokens -----------------------------------------------------------


def _alg_none(org_id: uuid.UUID) -> str:
    return b64url_json({"alg": "none", "typ": "JWT"}) + "." + b64url_json(claims(org_id)) + "."


def _alg_none_upper(org_id: uuid.UUID) -> str:
    return b64url_json({"alg": "None", "typ": "JWT"}) + "." + b64url_json(claims(org_id)) + "."


def _wrong_key(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id), secret="another-secret-" + "y" * 40)


def _tampered(org_id: uuid.UUID) -> str:
    """A genuine employee token whose payload is rewritten to claim admin; the signature
    is kept."""
    genuine = hs256(claims(org_id, roles=["employee"]))
    header, _, signature = genuine.split(".")
    return header + "." + b64url_json(claims(org_id, roles=["admin"])) + "." + signature


def _expired(org_id: uuid.UUID) -> str:
    now = int(time.time())
    return hs256(claims(org_id, iat=now - 3600, exp=now - 60))


def _future_nbf(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, nbf=int(time.time()) + 3600))


def _wrong_aud(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, aud="some-other-api"))


def _wrong_iss(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, iss="https://evil.example.com"))


def _no_exp(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, exp=None))


def _no_iss(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, iss=None))


def _no_aud(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, aud=None))


def _no_sub(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, sub=None))


def _no_org(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, org=None))


def _bad_org(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, org="not-a-uuid"))


def _unknown_kid(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id), headers={"kid": "rotated-away"})


def _embedded_jwk(org_id: uuid.UUID) -> str:
    """RS256 signed by the attacker, carrying the attacker's public key in `jwk`."""
    public = RSAAlgorithm.to_jwk(_attacker_key.public_key(), as_dict=True)
    return jwt.encode(claims(org_id), _attacker_key, algorithm="RS256", headers={"jwk": public, "kid": "attacker"})


def _jku_header(org_id: uuid.UUID) -> str:
    return jwt.encode(
        claims(org_id),
        _attacker_key,
        algorithm="RS256",
        headers={"jku": "https://evil.example.com/jwks.json", "kid": "attacker"},
    )


def _unknown_crit(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id), headers={"crit": ["exp-policy"], "exp-policy": "lenient"})


def _rs256_without_jwks(org_id: uuid.UUID) -> str:
    return jwt.encode(claims(org_id), _trusted_key, algorithm="RS256", headers={"kid": "trusted"})


def _bad_scope_claim(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, roles=None, scope=["employees:write"]))


def _bad_roles_claim(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, roles="admin"))


def _bad_emp_claim(org_id: uuid.UUID) -> str:
    return hs256(claims(org_id, roles=["employee"], emp="nobody"))


FORGED = {
    "alg_none": _alg_none,
    "alg_None": _alg_none_upper,
    "wrong_key": _wrong_key,
    "tampered_payload": _tampered,
    "expired": _expired,
    "future_nbf": _future_nbf,
    "wrong_aud": _wrong_aud,
    "wrong_iss": _wrong_iss,
    "missing_exp": _no_exp,
    "missing_iss": _no_iss,
    "missing_aud": _no_aud,
    "missing_sub": _no_sub,
    "missing_org": _no_org,
    "org_not_uuid": _bad_org,
    "unknown_kid": _unknown_kid,
    "embedded_jwk": _embedded_jwk,
    "jku_header": _jku_header,
    "unknown_crit": _unknown_crit,
    "rs256_without_jwks": _rs256_without_jwks,
    "scope_not_a_string": _bad_scope_claim,
    "roles_not_a_list": _bad_roles_claim,
    "emp_not_uuid": _bad_emp_claim,
    "exp_numeric_string": lambda org: hs256(claims(org, exp=str(int(time.time()) + 600))),
    "exp_huge_float": lambda org: hs256(claims(org, exp=1e308)),
    "exp_float": lambda org: hs256(claims(org, exp=time.time() + 600.5)),
    "exp_past_the_calendar": lambda org: hs256(claims(org, exp=10**15)),
    "nbf_numeric_string": lambda org: hs256(claims(org, nbf=str(int(time.time()) - 10))),
    "iat_boolean": lambda org: hs256(claims(org, iat=True)),
}


@pytest.mark.parametrize("kind", sorted(FORGED))
async def test_forged_token_is_401(tenant, kind):
    await tenant.add_employee("ann")
    resp = await call(tenant.client, FORGED[kind](tenant.org_id))
    assert_401(resp)
    assert resp.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        b64url_json({"alg": "HS256"}) + "." + b64url(b"\xff\xfe") + ".sig",
    ],
    ids=["word", "three_junk_parts", "two_parts", "dots", "header_only", "binary_payload"],
)
async def test_malformed_token_is_401(tenant, token):
    assert_401(await call(tenant.client, token))


async def test_missing_authorization_header_is_401(client):
    resp = await client.get(URL)
    assert_401(resp)
    assert resp.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_other_authorization_schemes_are_401(tenant, header):
    resp = await tenant.client.get(URL, headers={"Authorization": header})
    assert_401(resp)


async def test_token_for_unknown_organization_is_401(tenant):
    assert_401(await call(tenant.client, hs256(claims(uuid.uuid4()))))
    # The service's own issuer, same story: a well-signed token is not enough.
    assert_401(await call(tenant.client, tenants_token(uuid.uuid4())))


def tenants_token(org_id: uuid.UUID) -> str:
    return tokens.issue_token(org_id=org_id, sub="someone", roles=["admin"])


async def test_expired_within_leeway_is_accepted_but_not_beyond(tenant):
    now = int(time.time())
    assert (await call(tenant.client, hs256(claims(tenant.org_id, exp=now - 1)))).status_code == 200
    assert_401(await call(tenant.client, hs256(claims(tenant.org_id, exp=now - 30))))


async def test_401_on_every_kind_of_route(tenant):
    """Writes, GraphQL and the audit log refuse a forged token too, and write nothing."""
    forged = {"Authorization": f"Bearer {_tampered(tenant.org_id)}"}
    body = {"external_id": "x-1", "email": "x@example.com", "given_name": "X", "family_name": "Y"}
    assert_401(await tenant.client.post(URL, json=body, headers=forged))
    assert_401(await tenant.client.post(URL, json=body, headers={**forged, "Idempotency-Key": "k1"}))
    assert_401(await tenant.client.get("/api/v1/audit-events", headers=forged))
    gql = await tenant.client.post("/graphql", json={"query": "{ organization { id } }"}, headers=forged)
    assert gql.status_code == 401
    listed = await tenant.client.get(URL, headers=tenant.admin, params={"external_id": "x-1"})
    assert listed.json()["items"] == []


# --- an OIDC provider's keys (JWKS) -------------------------------------------------------

JWKS_URL = "https://idp.example.com/.well-known/jwks.json"


@pytest.fixture
def jwks(monkeypatch):
    """Configures a JWKS URL whose key set (one trusted RSA key, kid `trusted`) is served
    without network."""
    settings = get_settings()
    monkeypatch.setattr(settings, "jwt_jwks_url", JWKS_URL)
    client = jwt.PyJWKClient(JWKS_URL, cache_keys=True)
    key = RSAAlgorithm.to_jwk(_trusted_key.public_key(), as_dict=True)
    key.update({"kid": "trusted", "use": "sig", "alg": "RS256"})
    fetched: list[int] = []

    def fetch_data() -> dict[str, Any]:
        fetched.append(1)
        return {"keys": [key]}

    monkeypatch.setattr(client, "fetch_data", fetch_data)
    monkeypatch.setitem(tokens._jwks_clients, JWKS_URL, client)
    return fetched


async def test_jwks_token_is_accepted(tenant, jwks):
    token = jwt.encode(claims(tenant.org_id), _trusted_key, algorithm="RS256", headers={"kid": "trusted"})
    resp = await call(tenant.client, token)
    assert resp.status_code == 200, resp.text
    assert jwks, "the key set was consulted"


def _jwks_unknown_kid(org_id: uuid.UUID) -> str:
    return jwt.encode(claims(org_id), _trusted_key, algorithm="RS256", headers={"kid": "unknown"})


def _jwks_attacker_key_trusted_kid(org_id: uuid.UUID) -> str:
    public = RSAAlgorithm.to_jwk(_attacker_key.public_key(), as_dict=True)
    return jwt.encode(claims(org_id), _attacker_key, algorithm="RS256", headers={"kid": "trusted", "jwk": public})


def _jwks_attacker_embedded(org_id: uuid.UUID) -> str:
    public = RSAAlgorithm.to_jwk(_attacker_key.public_key(), as_dict=True)
    return jwt.encode(claims(org_id), _attacker_key, algorithm="RS256", headers={"kid": "attacker", "jwk": public})


def _jwks_hs256_with_public_key(org_id: uuid.UUID) -> str:
    """Algorithm confusion: HMAC keyed with the provider's public key, kid of that key."""
    raw = json.dumps(RSAAlgorithm.to_jwk(_trusted_key.public_key(), as_dict=True)).encode()
    header = b64url_json({"alg": "HS256", "typ": "JWT", "kid": "trusted"})
    payload = b64url_json(claims(org_id))
    import hashlib
    import hmac

    sig = hmac.new(raw, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


def _jwks_expired(org_id: uuid.UUID) -> str:
    now = int(time.time())
    return jwt.encode(claims(org_id, exp=now - 120), _trusted_key, algorithm="RS256", headers={"kid": "trusted"})


def _jwks_wrong_aud(org_id: uuid.UUID) -> str:
    return jwt.encode(claims(org_id, aud="other"), _trusted_key, algorithm="RS256", headers={"kid": "trusted"})


def _jwks_alg_none(org_id: uuid.UUID) -> str:
    return b64url_json({"alg": "none", "kid": "trusted"}) + "." + b64url_json(claims(org_id)) + "."


def _jwks_unlisted_alg(org_id: uuid.UUID) -> str:
    return jwt.encode(claims(org_id), _trusted_key, algorithm="PS256", headers={"kid": "trusted"})


JWKS_FORGED = {
    "unknown_kid": _jwks_unknown_kid,
    "attacker_key_with_trusted_kid": _jwks_attacker_key_trusted_kid,
    "embedded_jwk": _jwks_attacker_embedded,
    "hs256_keyed_with_public_key": _jwks_hs256_with_public_key,
    "expired": _jwks_expired,
    "wrong_aud": _jwks_wrong_aud,
    "alg_none": _jwks_alg_none,
    "alg_not_allowlisted": _jwks_unlisted_alg,
}


@pytest.mark.parametrize("kind", sorted(JWKS_FORGED))
async def test_jwks_forged_token_is_401(tenant, jwks, kind):
    assert_401(await call(tenant.client, JWKS_FORGED[kind](tenant.org_id)))


async def test_non_ascii_token_bytes_are_401(tenant):
    header = "Bearer \u00e9\u00e9.\u00e9.\u00e9".encode()
    assert_401(await tenant.client.get(URL, headers={"Authorization": header}))


async def test_a_verified_token_is_remembered_only_while_it_is_valid(tenant, monkeypatch):
    """The second use of a token skips the signature check; past `exp` (plus the
    leeway) a remembered token is verified again (and PyJWT refuses an expired one, see
    above), and other verification settings verify anew."""
    now = time.time()
    token = hs256(claims(tenant.org_id, exp=int(now) + 60))
    first = await tokens.verify_token(token)
    decoded: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **kw: decoded.append(a[0]) or real_decode(*a, **kw))
    assert await tokens.verify_token(token) == first
    assert decoded == []  # remembered
    assert (await call(tenant.client, token)).status_code == 200
    monkeypatch.setattr(tokens.time, "time", lambda: now + 60 + tokens.LEEWAY + 1)
    assert await tokens.verify_token(token) == first
    assert decoded == [token]  # past its exp the remembered answer is not used
    monkeypatch.undo()
    monkeypatch.setattr(get_settings(), "jwt_audience", "another-api")
    assert_401(await call(tenant.client, token))  # remembered for the old audience only
