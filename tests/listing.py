"""Helpers of the find, sort and export tests: walk a list page by page, compute the order
a sort must give (independently of the paginator), read a CSV answer."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

CONVERT: dict[str, Callable[[str], Any]] = {
    "text": lambda v: v.lower(),
    "date": dt.date.fromisoformat,
    "datetime": dt.datetime.fromisoformat,
    "decimal": Decimal,
    "int": int,
}


async def walk(
    client: httpx.AsyncClient, path: str, headers: Mapping[str, str], params: Mapping[str, Any], limit: int = 2
) -> list[dict[str, Any]]:
    """Every item of a list, `limit` at a time; asserts each page's size."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = await client.get(path, headers=headers, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert len(body["items"]) == limit  # only the last page may be short
    raise AssertionError("the walk did not end")


def expected(
    items: list[dict[str, Any]],
    sort: str,
    kinds: Mapping[str, str],
    value: Callable[[dict[str, Any], str], Any] | None = None,
    id_field: str = "id",
) -> list[Any]:
    """The ids of `items` in the order `sort` prescribes (docs/api.md): stable sorts from
    the last key to the first, NULLs last either way, text case-insensitive, the id last."""
    get = value or (lambda item, name: item[name])
    ordered = sorted(items, key=lambda i: i[id_field])
    for part in reversed(sort.split(",")):
        desc, name = part.startswith("-"), part.lstrip("-")
        convert = CONVERT[kinds[name]]
        present = [i for i in ordered if get(i, name) is not None]
        absent = [i for i in ordered if get(i, name) is None]
        present.sort(key=lambda i: convert(get(i, name)), reverse=desc)
        ordered = present + absent
    return [i[id_field] for i in ordered]


def read_csv(resp: httpx.Response) -> list[list[str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"].startswith('attachment; filename="')
    assert resp.text.endswith("\r\n") and "\r\n" in resp.text
    return list(csv.reader(io.StringIO(resp.text, newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, r, strict=True)) for r in body]


def cell(value: Any) -> str:
    """How a JSON value appears in the CSV export."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(cell(v) for v in value)
    return str(value)
