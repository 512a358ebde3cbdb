"""Fixtures of the fuzzers.

Schemathesis calls the app in process, on an event loop of its own (a thread), while the
rest of the suite runs on pytest's loop. A connection pool belongs to the loop that opened
its connections, so the pool is closed on pytest's loop before the fuzzers start and
closed again on the fuzzers' loop when they are done (the app handed to schemathesis
disposes of the pool on lifespan shutdown); each side then opens its own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from schemathesis.python.asgi import shutdown_lifespans

from service.db import database
from service.webhooks import urls
from tests.fuzz.world import World, build_world

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
# GraphQL has many more operations (every query and mutation field) than REST has routes.
GRAPHQL_MAX_EXAMPLES = max(2, MAX_EXAMPLES // 2)
# The suite runs a fixed set of examples (the same every run); `make fuzz` (FUZZ_RANDOM=1)
# explores afresh, with every schemathesis phase.
FULL_RUN = os.environ.get("FUZZ_RANDOM", "") != ""
DERANDOMIZE = not FULL_RUN


def fuzz_app(app: Any) -> Any:
    """The app as schemathesis sees it: requests pass through; the lifespan only closes
    the connection pool at shutdown (the webhook relay of the real lifespan stays off)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await database.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


async def _offline_resolve(host: str, port: int) -> list[urls.IPAddress]:
    """Webhook URL checks resolve host names; fuzzed names must not reach a DNS server."""
    literal = urls._literal(host)
    if literal is None:
        raise urls.UnsafeUrl("the host name does not resolve")
    return [literal]


@pytest.fixture(scope="package")
async def world(client: Any) -> AsyncIterator[World]:
    built = await build_world(client)
    await database.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(urls, "resolve", _offline_resolve)
        yield built
        await asyncio.to_thread(shutdown_lifespans)
