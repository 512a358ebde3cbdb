"""JWT issue and verification with PyJWT.

Verification is strict: an explicit algorithm allowlist chosen by the key source (HS256
for the local key; RS256/ES256 only for keys from the configured JWKS), required `exp`,
`iss`, `aud` and `sub`, `nbf` honoured, unknown `crit` headers refused, and a `kid` that
the key source does not know refused. Keys embedded in the token (`jwk`, `jku`, `x5u`)
are never used. Any failure is a 401.

A verified token is remembered (`VERIFIED_CACHE_SIZE` tokens, least recently used go)
until its `exp`, and at most `VERIFIED_TTL_SECONDS` (the JWKS key cache's lifespan), for
the same verification settings: a client sends the same token with every request, and
verifying its signature again is most of what authentication costs. Only verified
tokens are remembered; `nbf` and `exp` are still checked on every use.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from typing import Any

import jwt
from jwt import PyJWKClient

from service.config import Settings, get_settings
from service.errors import Unauthorized
from service.principal import CLIENT_SCOPES, PERSON_ROLES, Principal

LOCAL_ALGORITHMS = ["HS256"]
LOCAL_KID = "local"
_REQUIRED = ["exp", "iss", "aud", "sub"]
_jwks_clients: dict[str, PyJWKClient] = {}
LEEWAY = 5
VERIFIED_CACHE_SIZE = 10_000
VERIFIED_TTL_SECONDS = 300
# (token, verification settings) -> (principal, usable from, usable until)
_verified: OrderedDict[tuple[Any, ...], tuple[Principal, float, float]] = OrderedDict()


def issue_token(
    *,
    org_id: uuid.UUID | str,
    sub: str,
    roles: list[str] | None = None,
    scopes: list[str] | None = None,
    employee_id: uuid.UUID | str | None = None,
    ttl: int | None = None,
    settings: Settings | None = None,
) -> str:
    settings = settings or get_settings()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "org": str(org_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl if ttl is not None else settings.access_token_ttl_seconds),
    }
    if roles is not None:
        claims["roles"] = list(roles)
    if scopes is not None:
        claims["scope"] = " ".join(scopes)
    if employee_id is not None:
        claims["emp"] = str(employee_id)
    return jwt.encode(claims, settings.effective_jwt_secret, algorithm="HS256", headers={"kid": LOCAL_KID})


def _jwks_client(url: str) -> PyJWKClient:
    client = _jwks_clients.get(url)
    if client is None:
        client = PyJWKClient(url, cache_keys=True, lifespan=300)
        _jwks_clients[url] = client
    return client


async def _verification_key(token: str, settings: Settings) -> tuple[Any, list[str]]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed token") from exc
    alg = header.get("alg")
    kid = header.get("kid")
    if alg in LOCAL_ALGORITHMS:
        if kid not in (None, LOCAL_KID):
            raise Unauthorized("unknown key id")
        return settings.effective_jwt_secret, LOCAL_ALGORITHMS
    allowed = [a.strip() for a in settings.jwt_jwks_algorithms.split(",") if a.strip()]
    if settings.jwt_jwks_url and alg in allowed:
        client = _jwks_client(settings.jwt_jwks_url)
        try:
            # PyJWKClient fetches with blocking urllib: keep it off the event loop.
            signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("unknown key id") from exc
        return signing_key.key, [alg]
    raise Unauthorized("algorithm not allowed")


async def verify_token(token: str, settings: Settings | None = None) -> Principal:
    settings = settings or get_settings()
    cache_key = (
        token,
        settings.jwt_secret,
        settings.data_dir,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.jwt_jwks_url,
        settings.jwt_jwks_algorithms,
    )
    now = time.time()
    known = _verified.get(cache_key)
    if known is not None:
        principal, usable_from, usable_until = known
        if usable_from <= now < usable_until:
            _verified.move_to_end(cache_key)
            return principal
        del _verified[cache_key]
    key, algorithms = await _verification_key(token, settings)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED, "verify_signature": True},
            leeway=LEEWAY,
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    check_numeric_dates(claims)
    principal = principal_from_claims(claims)
    nbf = claims.get("nbf")
    usable_from = float(nbf) - LEEWAY if isinstance(nbf, (int, float)) else 0.0
    _verified[cache_key] = (principal, usable_from, min(float(claims["exp"]) + LEEWAY, now + VERIFIED_TTL_SECONDS))
    if len(_verified) > VERIFIED_CACHE_SIZE:
        _verified.popitem(last=False)
    return principal


MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z


def check_numeric_dates(claims: dict[str, Any]) -> None:
    """`exp`, `nbf` and `iat` are integer NumericDates (RFC 7519 section 2) within the
    calendar: PyJWT would also take a numeric string or 1e308 and compare it as a number."""
    for name in ("exp", "nbf", "iat"):
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMERIC_DATE:
            raise Unauthorized(f"invalid token: {name} must be an integer NumericDate")


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        org_id = uuid.UUID(str(claims["org"]))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("token has no organization") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("token has no subject")
    scope = claims.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            raise Unauthorized("bad scope claim")
        scopes = frozenset(s for s in scope.split() if s in CLIENT_SCOPES)
        return Principal(sub=sub, org_id=org_id, kind="client", scopes=scopes)
    roles_claim = claims.get("roles", [])
    if not isinstance(roles_claim, list):
        raise Unauthorized("bad roles claim")
    roles = frozenset(r for r in roles_claim if isinstance(r, str) and r in PERSON_ROLES)
    emp = claims.get("emp")
    employee_id = None
    if emp is not None:
        try:
            employee_id = uuid.UUID(str(emp))
        except ValueError as exc:
            raise Unauthorized("bad employee claim") from exc
    return Principal(sub=sub, org_id=org_id, kind="person", roles=roles, employee_id=employee_id)
