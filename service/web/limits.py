"""Request limits: a body size limit (413) and per-client rate limits on heavy endpoints
(429), both ASGI middleware so they act before a body is parsed or a query runs.

The rate limit is a token bucket per (rule, principal) held in process memory: each API
replica (each gunicorn worker process, in fact) counts on its own, so the effective limit
of a deployment is at most the configured rate times the number of worker processes.
docs/operations.md ("Limits") says how to make it global (a shared store such as Redis, or the
ingress's own limiter). Buckets are kept for the most recently seen
`RATE_LIMIT_MAX_CLIENTS` callers. Requests without a valid token are not counted: the
route answers them 401 before any heavy work.

Every answer is problem+json; 429 carries `Retry-After` (whole seconds until one token is
back). Settings are read per request, so a change needs no restart.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth.tokens import verify_token
from service.config import Settings, get_settings
from service.errors import DomainError, PayloadTooLarge, TooManyRequests, ValidationFailed
from service.kit.i18n import localise_problem

PROBLEM_JSON = b"application/problem+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def send_problem(scope: Scope, send: Send, error: DomainError) -> None:
    body = json.dumps(localise_problem(error.problem(instance=scope.get("path")))).encode()
    headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- body size and JSON depth -----------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON document nests arrays and objects deeper than `limit`, measured on
    the bytes before anything parses them (Python's decoder recurses once a level and
    fails past about a thousand). Brackets inside strings do not count. Linear, and at
    C speed but for one pass over the brackets themselves."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for b in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if b in (91, 123):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def is_json(scope: Scope) -> bool:
    ctype = (Headers(scope=scope).get("content-type") or "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


async def send_scim_error(send: Send, status: int, scim_type: str, detail: str) -> None:
    """An error in SCIM's own shape (RFC 7644 section 3.12), for the /scim paths."""
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(status),
            "scimType": scim_type,
            "detail": detail,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/scim+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def body_limit(path: str, settings: Settings) -> int:
    return settings.max_bulk_body_bytes if path.rstrip("/").endswith("/bulk") else settings.max_body_bytes


class BodySizeLimitMiddleware:
    """413 when `Content-Length` exceeds the limit (nothing is read), or when a body sent
    without one (chunked) grows past it; 400 when a JSON body nests deeper than
    `MAX_JSON_DEPTH` (a SCIM error under /scim). The body is read here, up to the
    limit, and handed on unchanged. A path holding a control character is a 400 before
    anything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope["path"]):
            # An encoded control character (`%00`) in the path names nothing, and would
            # otherwise be echoed into headers the server refuses to send.
            detail = "the path contains a control character"
            if scope["path"].startswith("/scim/"):
                await send_scim_error(send, 400, "invalidValue", detail)
            else:
                await send_problem(
                    {**scope, "path": scope["path"].encode("unicode_escape").decode()},
                    send,
                    ValidationFailed(detail, errors=[{"loc": ["path"], "msg": detail}]),
                )
            return
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], get_settings())
        too_large = PayloadTooLarge(f"the request body exceeds {limit} bytes", extra={"max_bytes": limit})
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_problem(scope, send, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_problem(scope, send, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        depth = get_settings().max_json_depth
        if is_json(scope) and json_too_deep(b"".join(chunks), depth):
            detail = f"the JSON body nests deeper than {depth} levels"
            if scope["path"].startswith("/scim/"):
                await send_scim_error(send, 400, "invalidSyntax", detail)
            else:
                await send_problem(
                    scope,
                    send,
                    ValidationFailed(
                        detail, errors=[{"loc": ["body"], "msg": f"at most {depth} levels of arrays and objects"}]
                    ),
                )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# --- rate limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A class of heavy endpoints: paths matching `pattern` (and `methods`, when given)."""

    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str] | None

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and bool(self.pattern.search(path))

    def limits(self, settings: Settings) -> tuple[float, int]:
        """(tokens per second, bucket size)."""
        per_minute = getattr(settings, f"rate_limit_{self.name}_per_minute")
        burst = getattr(settings, f"rate_limit_{self.name}_burst")
        return per_minute / 60.0, max(int(burst), 1)


RULES: tuple[Rule, ...] = (
    Rule("bulk", re.compile(r"/bulk/?$"), frozenset({"POST"})),
    Rule("recompute", re.compile(r"/scores/recompute/?$"), frozenset({"POST"})),
    Rule("payroll", re.compile(r"^/api/v1/payroll/"), None),
)


def rule_for(method: str, path: str) -> Rule | None:
    return next((r for r in RULES if r.matches(method, path)), None)


class TokenBucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, burst: int, now: float) -> None:
        self.tokens = float(burst)
        self.updated = now

    def take(self, rate: float, burst: int, now: float) -> float:
        """Takes one token; returns 0 when allowed, else seconds until one is back."""
        self.tokens = min(float(burst), self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate if rate > 0 else math.inf


class RateLimiter:
    """Token buckets keyed by (rule, client), least recently used dropped past a bound."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def take(self, rule: Rule, client: str, settings: Settings) -> float:
        rate, burst = rule.limits(settings)
        now = self.clock()
        key = (rule.name, client)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(burst, now)
            while len(self.buckets) > max(settings.rate_limit_max_clients, 1):
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
        return bucket.take(rate, burst, now)


async def client_key(scope: Scope) -> str | None:
    """The verified principal (organization and actor). A caller without a valid token is
    not counted: the route answers it 401 before any heavy work starts."""
    auth = Headers(scope=scope).get("authorization", "")
    if auth[:7].lower() != "bearer ":
        return None
    try:
        principal = await verify_token(auth[7:].strip())
    except DomainError:
        return None
    scope.setdefault("state", {})["org_id"] = str(principal.org_id)
    return f"{principal.org_id}:{principal.actor}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or RateLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = get_settings()
        rule = rule_for(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if rule is None or not settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        client = await client_key(scope)
        wait = self.limiter.take(rule, client, settings) if client is not None else 0.0
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait))) if math.isfinite(wait) else "3600"
            await send_problem(
                scope,
                send,
                TooManyRequests(
                    f"too many {rule.name} requests from this client; retry after {retry_after} s",
                    extra={"limit": rule.name},
                    headers={"Retry-After": retry_after},
                ),
            )
            return
        await self.app(scope, receive, send)
