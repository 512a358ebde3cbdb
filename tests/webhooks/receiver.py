"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request and answers
scripted responses. Plain asyncio, HTTP/1.1, one request per connection.

Each receiver serves under a path prefix of its own: a request meant for an earlier
receiver that happened to listen on the same port (left over by another test) lands in
`strays` and is never counted."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the connection open without answering


HANG = Reply(hang=True)
REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.strays: list[Received] = []
        self._prefix = "/r-" + uuid.uuid4().hex[:12]
        self.script: list[Reply] = []
        self.default = Reply()
        self._server: asyncio.Server | None = None
        self._release = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._release.set()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{self._prefix}{path}"

    def then(self, *replies: Reply | int) -> None:
        """Answer the next requests with these, in order; afterwards the default."""
        self.script.extend(r if isinstance(r, Reply) else Reply(status=r) for r in replies)

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
            await asyncio.sleep(0.01)
        return self.requests

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                return
            method, path, _ = line.split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                raw = (await reader.readline()).decode("latin-1")
                if raw in ("\r\n", "\n", ""):
                    break
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if not path.startswith(self._prefix + "/"):
                self.strays.append(Received(method, path, headers, body, time.monotonic()))
                reply = Reply(status=404, body=b"not this receiver")
            else:
                path = path[len(self._prefix) :]
                self.requests.append(Received(method, path, headers, body, time.monotonic()))
                reply = self.script.pop(0) if self.script else self.default
            if reply.hang:
                await self._release.wait()
                return
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            head = [
                f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}",
                f"Content-Length: {len(payload)}",
                "Connection: close",
                *(f"{k}: {v}" for k, v in reply.headers.items()),
            ]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
