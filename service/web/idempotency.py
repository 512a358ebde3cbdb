"""`Idempotency-Key` on POST, once for every route: an ASGI middleware.

The first request with a key reserves it (committed at once, so a concurrent twin sees
the reservation and gets a 409 instead of executing twice), runs, and stores its
response; repeats with the same body replay that response; the same key with another
body is a 422. Keys are scoped to (organization, principal). Responses of 5xx are not
kept, so a retry after a server failure executes again. A reservation whose request
died without answering is taken over after a minute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth.tokens import verify_token
from service.db import database
from service.errors import Conflict, DomainError, ValidationFailed
from service.kit.i18n import localise_problem
from service.kit.models import IdempotencyRecord
from service.types import utcnow

REPLAYED_HEADERS = ("content-type", "etag", "location")
WITHHELD = "x-secret-withheld"
STALE_RESERVATION = dt.timedelta(seconds=60)
MAX_KEY_LENGTH = 200


async def _send_problem(send: Send, error: DomainError, extra_headers: dict[str, str] | None = None) -> None:
    body = json.dumps(localise_problem(error.problem())).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    for k, v in (extra_headers or {}).items():
        headers.append((k.encode(), v.encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        auth = headers.get("authorization", "")
        if not key or not auth.lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY_LENGTH:
            await _send_problem(
                send,
                ValidationFailed(
                    "Idempotency-Key is too long",
                    errors=[{"loc": ["header", "Idempotency-Key"], "msg": "at most 200 characters"}],
                ),
            )
            return

        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            principal = await verify_token(auth[7:].strip())
        except DomainError:
            await self.app(scope, replay_receive, send)  # the route answers 401
            return

        digest = hashlib.sha256()
        for part in (scope["path"].encode(), scope.get("query_string", b""), body):
            digest.update(part)
            digest.update(b"\0")
        request_hash = digest.hexdigest()
        ident = {"org_id": principal.org_id, "principal": principal.actor, "key": key}

        outcome = await self._reserve(ident, request_hash)
        if isinstance(outcome, IdempotencyRecord):
            await self._replay(outcome, send)
            return
        if isinstance(outcome, DomainError):
            await _send_problem(send, outcome, outcome.headers)
            return

        status = 500
        resp_headers: dict[str, str] = {}
        resp_body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    name = k.decode().lower()
                    if name in REPLAYED_HEADERS:
                        resp_headers[name] = v.decode()
                    elif name == "cache-control" and "no-store" in v.decode().lower():
                        resp_headers[WITHHELD] = "true"
            elif message["type"] == "http.response.body":
                resp_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            await self._complete(ident, status, resp_headers, b"".join(resp_body))

    async def _reserve(self, ident: dict[str, Any], request_hash: str) -> IdempotencyRecord | DomainError | None:
        async with database.sessions() as session:
            try:
                session.add(IdempotencyRecord(**ident, request_hash=request_hash, created_at=utcnow()))
                await session.commit()
                return None
            except IntegrityError:
                await session.rollback()
            existing = (await session.execute(select(IdempotencyRecord).filter_by(**ident))).scalar_one_or_none()
            if existing is None:  # vanished between the two statements: let the client retry
                return Conflict("a request with this Idempotency-Key is in progress", headers={"Retry-After": "1"})
            if existing.request_hash != request_hash:
                return ValidationFailed(
                    "this Idempotency-Key was used with a different request",
                    errors=[{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different request body"}],
                )
            if existing.status_code is not None:
                return existing
            if utcnow() - existing.created_at > STALE_RESERVATION:
                # an UPDATE's result is a CursorResult, which the stubs of `execute` do not say
                taken = cast(
                    CursorResult[Any],
                    await session.execute(
                        update(IdempotencyRecord)
                        .filter_by(**ident)
                        .where(IdempotencyRecord.created_at == existing.created_at)
                        .values(created_at=utcnow())
                    ),
                )
                await session.commit()
                if taken.rowcount == 1:
                    return None
            return Conflict("a request with this Idempotency-Key is in progress", headers={"Retry-After": "1"})

    async def _complete(self, ident: dict[str, Any], status: int, headers: dict[str, str], body: bytes) -> None:
        async with database.sessions() as session:
            if status >= 500:
                await session.execute(delete(IdempotencyRecord).filter_by(**ident))
            else:
                kept = "" if WITHHELD in headers else body.decode("utf-8", errors="replace")
                await session.execute(
                    update(IdempotencyRecord)
                    .filter_by(**ident)
                    .values(status_code=status, response_headers=headers, response_body=kept)
                )
            await session.commit()

    async def _replay(self, record: IdempotencyRecord, send: Send) -> None:
        stored = dict(record.response_headers or {})
        if stored.pop(WITHHELD, None):
            location = {"Location": stored["location"]} if "location" in stored else {}
            await _send_problem(
                send,
                Conflict(
                    "this request was already executed; its response held a secret that is shown only "
                    "once and is not replayed",
                    headers=location,
                ),
                location,
            )
            return
        body = (record.response_body or "").encode()
        headers = [(k.encode(), v.encode()) for k, v in (record.response_headers or {}).items()]
        headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
        await send({"type": "http.response.start", "status": record.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
