"""An open-loop HTTP load generator for bench/http_load.py (a process of its own).

Requests are scheduled at a constant rate, whatever the server does: request i is due
at start + i / rate and goes out on a free keep-alive connection (a new one is opened
when none is free, up to `--connections`). Its latency is counted from the moment it
was due, not from when it was sent, so a server that falls behind is charged for the
queue it builds (no coordinated omission, which a closed-loop tool such as wrk, whose
connections wait for each answer, cannot avoid).

    python bench/openloop.py --url http://127.0.0.1:8000/api/v1/employees/ID \\
        --rate 300 --seconds 10 --header "Authorization: Bearer ..."

Prints one JSON line: {"rate": due per second, "achieved": answered per second,
"p50": ms, "p99": ms, "max": ms, "errors": non-2xx or failed}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def paced(rate: float, seconds: float, send: Callable[[float, int], Awaitable[None]]) -> float:
    """`send(due, i)` for request i, started at its due time (start + i / rate) whether or
    not earlier ones have answered; answers the seconds until the last one finished."""
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(due, i)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


async def run(url: str, rate: float, seconds: float, headers: list[str], connections: int) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{h}\r\n" for h in headers)
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
    idle: list[Connection] = []
    opened = 0
    waiting: asyncio.Queue[Connection] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> Connection:
        nonlocal opened
        if idle:
            return idle.pop()
        if opened < connections:
            opened += 1
            return Connection(*await asyncio.open_connection(host, port))
        return await waiting.get()

    def release(conn: Connection) -> None:
        if waiting._getters:  # someone waits for a connection: hand it over  # noqa: SLF001
            waiting.put_nowait(conn)
        else:
            idle.append(conn)

    async def one(due: float) -> None:
        nonlocal errors, opened
        conn = await connection()
        try:
            try:
                status = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError) as exc:
                # A kept-alive connection the server closed while it sat idle fails at
                # once with nothing read: send again on a new one, as HTTP clients do.
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                conn.writer.close()
                conn = Connection(*await asyncio.open_connection(host, port))
                status = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            opened -= 1
            return
        latencies.append(time.perf_counter() - due)
        if not 200 <= status < 300:
            errors += 1
        release(conn)

    elapsed = await paced(rate, seconds, lambda due, _i: one(due))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "rate": rate,
        "achieved": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else float("nan"),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.seconds, args.header, args.connections))))


if __name__ == "__main__":
    main()
