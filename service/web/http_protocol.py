"""The HTTP/1.1 protocol the server speaks: uvicorn's httptools protocol with a bound on the
request head (request line and headers), and the gunicorn worker that uses it.

httptools accepts a head of any size: it gathers a header's value chunk by chunk before
the application sees anything, so four 30 MB headers held 160 MB and a 50 MB
`Authorization` header took 17 s to be refused. Here the bytes of each request's head
are counted as they arrive, before they are parsed; past `MAX_HEADER_BYTES` (32 KiB by
default, several times what browsers and proxies send) the answer is 431 Request Header
Fields Too Large, as a problem document, and the connection is closed, after reading at
most one chunk past the bound.

`python -m service serve` runs uvicorn with this protocol, and the production image's
gunicorn uses `Worker` (service/web/gunicorn_conf.py).
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from service.config import get_settings
from service.errors import PROBLEM_BASE

HEAD_END = b"\r\n\r\n"


def too_large_response(limit: int) -> bytes:
    body = json.dumps(
        {
            "type": PROBLEM_BASE + "request-header-fields-too-large",
            "title": "Request Header Fields Too Large",
            "status": 431,
            "detail": f"the request line and headers exceed {limit} bytes",
            "max_bytes": limit,
        }
    ).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts each request's head as it arrives and answers 431 past the bound."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = get_settings().max_header_bytes
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            end = data.find(HEAD_END)
            self._head_bytes += len(data) if end < 0 else end + len(HEAD_END)
            if self._head_bytes > self.max_head_bytes:
                self.logger.warning("request head over %d bytes: 431", self.max_head_bytes)
                self._in_head = False
                self.transport.write(too_large_response(self.max_head_bytes))
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0  # what follows is the next request's head


PROTOCOL = f"{BoundedHttpToolsProtocol.__module__}:{BoundedHttpToolsProtocol.__qualname__}"


class Worker(UvicornWorker):
    """gunicorn's uvicorn worker, speaking the bounded protocol."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "http": PROTOCOL}
