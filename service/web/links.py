"""`Link: <...>; rel="next"` on every page of a REST list (RFC 8288), beside the body's
`next_cursor`: the same request with `cursor` set to it, as a relative reference. Clients
and tools that follow links (many HTTP libraries and CLI pagers do) walk a list without
knowing the cursor parameter. The last page has no `Link`.

A pure ASGI middleware, so the handlers stay as they are: on a `GET /api/...` answered 200
in JSON by a route whose response model is a `PageOut`, it reads `next_cursor` from the
end of the body (a page serializes `items` first and `next_cursor` last; a cursor is
base64url, with nothing to escape) and adds the header. Streams (CSV exports) and every
other answer pass untouched.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kit.pagination import PageOut

TAIL = re.compile(rb'"next_cursor":"([A-Za-z0-9_-]+)"}$')
TAIL_BYTES = 4096


def _is_page(scope: Scope) -> bool:
    model = getattr(scope.get("route"), "response_model", None)
    return isinstance(model, type) and issubclass(model, PageOut)


def next_link(scope: Scope, cursor: str) -> str:
    query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)]
    query = [(k, v) for k, v in query if k != "cursor"] + [("cursor", cursor)]
    return f'<{scope["path"]}?{urlencode(query)}>; rel="next"'


class PageLinkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers") or ()).get(b"content-type", b"")
                if message["status"] == 200 and content_type.startswith(b"application/json") and _is_page(scope):
                    held.append(message)
                    return
            elif held and message["type"] == "http.response.body":
                start = held.pop()
                body = message.get("body", b"")
                found = None if message.get("more_body") else TAIL.search(body[-TAIL_BYTES:])
                if found is not None:
                    link = next_link(scope, found.group(1).decode("ascii"))
                    start = {**start, "headers": [*start.get("headers", ()), (b"link", link.encode("latin-1"))]}
                await send(start)
            await send(message)

        await self.app(scope, receive, wrapped)
