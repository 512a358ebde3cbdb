"""Helpers of the find, sort and export tests: walk a list page by page, compute the order
a sort must give (independently of the paginator), read a CSV answer."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
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


# --- GraphQL: the same lists through connections ------------------------------------------------


class Enum(str):
    """A GraphQL enum value in an argument (written without quotes)."""


def literal(value: Any) -> str:
    """A Python value as a GraphQL argument literal."""
    if isinstance(value, Enum):
        return str(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def order_by(sort: str) -> list[dict[str, Any]]:
    """REST's `sort` as GraphQL's `orderBy` (`-weight,title`: WEIGHT descending, TITLE)."""
    out: list[dict[str, Any]] = []
    for part in sort.split(","):
        desc, name = part.startswith("-"), part.lstrip("-")
        out.append({"field": Enum(name.upper()), **({"direction": Enum("DESC")} if desc else {})})
    return out


async def gql_page(
    client: httpx.AsyncClient, headers: Mapping[str, str], field: str, args: Mapping[str, Any], node: str
) -> dict[str, Any]:
    """One page of a connection field: `{"errors": ...}` when refused, else the connection
    (`edges` with `cursor` and the node's `node` field, `pageInfo`)."""
    text = ", ".join(f"{k}: {literal(v)}" for k, v in args.items() if v is not None)
    query = (
        f"{{ {field}{f'({text})' if text else ''} {{ edges {{ cursor node {{ {node} }} }} "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
    )
    resp = await client.post("/graphql", json={"query": query}, headers=dict(headers))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if body.get("errors"):
        return {"errors": body["errors"]}
    conn = body["data"][field]
    edges = conn["edges"]
    info = conn["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    return conn


def ids_of(conn: Mapping[str, Any], node: str) -> list[Any]:
    return [e["node"][node] for e in conn["edges"]]


async def gql_walk(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    field: str,
    args: Mapping[str, Any],
    node: str = "databaseId",
    size: int = 2,
    backward: bool = False,
) -> tuple[list[Any], list[str]]:
    """Every node of a connection (their `node` field) and their edge cursors, in the list's
    order, `size` at a time: forward with first/after, or from the end with last/before
    (then each page is put in front of the ones read after it). Asserts each page's
    pageInfo: forward, hasPreviousPage is whether `after` was given and hasNextPage
    whether more follow; backward, hasNextPage is whether `before` was given and
    hasPreviousPage whether more precede."""
    ids: list[Any] = []
    cursors: list[str] = []
    cursor = None
    for _ in range(500):
        paging = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        conn = await gql_page(client, headers, field, {**args, **paging}, node)
        assert "errors" not in conn, conn["errors"]
        edges, info = conn["edges"], conn["pageInfo"]
        assert len(edges) <= size
        page_ids, page_cursors = ids_of(conn, node), [e["cursor"] for e in edges]
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        came = info["hasNextPage"] if backward else info["hasPreviousPage"]
        assert came == (cursor is not None), info
        if backward:
            ids, cursors = page_ids + ids, page_cursors + cursors
            cursor = info["startCursor"]
        else:
            ids, cursors = ids + page_ids, cursors + page_cursors
            cursor = info["endCursor"]
        if not more:
            return ids, cursors
        assert len(edges) == size  # only the last page read may be short
    raise AssertionError("the walk did not end")


async def same_as_rest(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    path: str,
    params: Mapping[str, Any],
    field: str,
    args: Mapping[str, Any],
    node: str = "databaseId",
    id_field: str = "id",
    size: int = 2,
) -> list[Any]:
    """The GraphQL list `field(args)` holds the rows of REST's `path?params`, in the same
    order, walked forward and walked backward from the end (which gives the same
    sequence); every edge's cursor works as `after` and as `before`. Returns the ids."""
    rest = [i[id_field] for i in await walk(client, path, headers, params, limit=size)]
    forward, cursors = await gql_walk(client, headers, field, args, node, size)
    assert forward == rest, (field, args)
    backward, back_cursors = await gql_walk(client, headers, field, args, node, size, backward=True)
    assert backward == rest, (field, args)
    assert back_cursors == cursors  # a row's cursor is its position, however it was reached
    for i, cursor in enumerate(cursors):
        after = await gql_page(client, headers, field, {**args, "first": size, "after": cursor}, node)
        assert ids_of(after, node) == rest[i + 1 : i + 1 + size]
        before = await gql_page(client, headers, field, {**args, "last": size, "before": cursor}, node)
        assert ids_of(before, node) == rest[max(0, i - size) : i]
        assert before["pageInfo"]["hasPreviousPage"] == (i > size)
    return rest
