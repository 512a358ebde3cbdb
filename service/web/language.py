"""The language of an answer's texts (service/kit/i18n.py): chosen from the request's
`Accept-Language` before anything else runs, and said back as `Content-Language` (with
`Vary: Accept-Language`) on every answer that carries a catalogued text (a problem, the
OKR lint's findings).

It sits just inside CORS, around Starlette's error middleware (`App` in
service/web/app.py), so even a 500's problem is in the request's language, and the
rate limit's and idempotency's own problems too.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kit import i18n


class LanguageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with i18n.negotiated(Headers(scope=scope).get("accept-language")) as state:

            async def say_language(message: Message) -> None:
                if message["type"] == "http.response.start" and state.used:
                    headers = MutableHeaders(scope=message)
                    headers["Content-Language"] = state.language
                    headers.add_vary_header("Accept-Language")
                await send(message)

            await self.app(scope, receive, say_language)
