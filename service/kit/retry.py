"""Retry of a whole request when its transaction lost a race with another one.

A request is one transaction (service/db.py `get_session` commits once, at the end, and
rolls back on any error), so a request whose transaction failed has changed nothing and
can run again from the start. This middleware does that, up to `ATTEMPTS` times with a
short jittered pause, for the failures that another transaction caused and that a second
run is expected to get past:

- PostgreSQL serialization failures and deadlocks (SQLSTATE 40001, 40P01): the database
  chose this transaction as the victim;
- SQLite's "database is locked" (another writer held the lock past the busy timeout);
- a connection that died under the request (a database restart or failover, a terminated
  backend): the server rolled its transaction back, and the pool hands out a fresh
  connection (and drops every connection as old as the dead one);
- `ConcurrentChange`: the service itself saw that rows it had read were changed by
  another transaction before it wrote them (bulk upserts racing on the same rows).

The exception handlers (service/web/problems.py) mark such a failure; the middleware then
drops the answer and runs the request again with the same body. When the attempts are
used up the last answer goes out: a 503 with `Retry-After` for a database failure, a 409
for `ConcurrentChange`. Only the request's own transaction is replayed: the
Idempotency-Key reservation sits outside (the idempotency middleware wraps this one),
webhook events go through the outbox in the same transaction, and after-commit callbacks
run only after a commit. A stale `If-Match` (412) is never retried: the client must read
the resource again.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Conflict

ATTEMPTS = 3
BASE_DELAY_SECONDS = 0.02
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
SQLITE_LOCKED = ("database is locked", "database table is locked")
SCOPE_KEY = "perf.transaction_retry"


class ConcurrentChange(Conflict):
    """Rows this request read were changed by another transaction before it wrote them."""

    title = "Concurrent change"
    retryable = True


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrentChange):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # the connection died (a restart, a terminated backend)
        return True
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and any(m in str(exc.orig).lower() for m in SQLITE_LOCKED)


def mark_for_retry(request: Request, exc: BaseException) -> None:
    """Called by the exception handlers: asks the middleware to run the request again."""
    holder = request.scope.get(SCOPE_KEY)
    if holder is not None and is_transient(exc):
        holder["retry"] = True


class TransactionRetryMiddleware:
    def __init__(self, app: ASGIApp, attempts: int = ATTEMPTS) -> None:
        self.app = app
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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

        for attempt in range(1, self.attempts + 1):
            if await self._attempt(scope, body, receive, send, last=attempt == self.attempts):
                return
            await asyncio.sleep(BASE_DELAY_SECONDS * (2 ** (attempt - 1)) * (0.5 + random.random()))

    async def _attempt(self, scope: Scope, body: bytes, receive: Receive, send: Send, last: bool) -> bool:
        """Runs the request once; False when its answer was dropped to run it again."""
        holder: dict[str, Any] = {"retry": False}
        dropped = False
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def guarded_send(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and holder["retry"] and not last:
                dropped = True
            if not dropped:
                await send(message)

        scope[SCOPE_KEY] = holder  # the same scope object: outer middleware reads the route from it
        await self.app(scope, replay, guarded_send)
        return not dropped
