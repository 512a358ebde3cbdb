"""The REST side of lists' find, sort and export, written once: the `q` and `sort`
query parameters as OpenAPI documents them, and content negotiation between JSON and CSV.

Negotiation
-----------

Every documented GET answers JSON; a list that exports also answers `text/csv` (its 200
response lists that media type in OpenAPI, which is how this module knows). The
`Accept` header picks: the media type with the highest `q` among those the route offers,
the earlier one in the header on a tie; `*/*`, `application/*` and `text/*` match what
they cover, `q=0` refuses. A GET whose `Accept` admits nothing the route offers answers
406 problem+json naming what it does offer (`strict_request` in routing.py), so
`Accept: text/csv` on a list without an export is refused instead of answered in JSON.
No `Accept` header is JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.routing import APIRoute
from starlette.responses import StreamingResponse

from service.kit import search
from service.kit.export import CsvExport
from service.kit.pagination import MAX_SORT_LENGTH, Sorting

JSON = "application/json"
CSV = "text/csv"

# `q`: its bound is checked here (a 422 naming `q`) and again by the service (GraphQL).
SearchQuery = Annotated[str | None, Query(max_length=search.MAX_LENGTH, description=search.DESCRIPTION)]
# `manager_id` names a manager's direct reports (the employees, or the things about them);
# `subtree` widens it to the manager's whole subtree.
ManagerFilter = Annotated[
    uuid.UUID | None,
    Query(description="the direct reports of this manager (with `subtree=true`: all their reports), or what is theirs"),
]
SUBTREE = Query(
    description="with `manager_id`: every direct and indirect report of that manager, not only the direct ones"
)

CHILD_CYCLES = Query(
    description="with `cycle_id`: also the rows of every cycle nested in it (a year's quarters and their months)"
)


def sort_query(sorting: Sorting, fields: str = "") -> Any:
    """The `sort` parameter of a list: its keys in the description and, as a pattern, in
    the schema (the service checks it, naming an unknown key)."""
    extra = f" {fields}" if fields else ""
    return Query(
        max_length=MAX_SORT_LENGTH,
        description=sorting.describe() + extra,
        json_schema_extra={"pattern": sorting.pattern()},
    )


def _ranges(accept: str) -> list[tuple[str, float]]:
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((media.lower(), q))
    return out


def _covers(media_range: str, offered: str) -> bool:
    if media_range in ("*/*", offered):
        return True
    kind, _, sub = media_range.partition("/")
    if sub == "*":
        return offered.startswith(kind + "/")
    return offered == JSON and media_range.endswith("+json")  # application/problem+json and kin


def choose(accept: str | None, offered: Sequence[str]) -> str | None:
    """The media type of `offered` that `accept` prefers; None when it admits none."""
    if not accept or not accept.strip():
        return offered[0]
    best: tuple[float, int] | None = None
    chosen = None
    for position, (media_range, q) in enumerate(_ranges(accept)):
        if q <= 0:
            continue
        for media in offered:
            if _covers(media_range, media) and (best is None or (q, -position) > best):
                best, chosen = (q, -position), media
    return chosen


def offered(route: APIRoute) -> list[str]:
    """What a route answers: JSON (when it has a response model, or documents nothing
    else), then the other media types its 200 response documents (CSV for the lists that
    export, Markdown for briefs, a file a route streams)."""
    content = (route.responses.get(200) or route.responses.get("200") or {}).get("content") or {}
    others = [m for m in content if m != JSON]
    return [JSON, *others] if route.response_model is not None or JSON in content or not others else others


def wants_csv(request: Request) -> bool:
    return choose(request.headers.get("accept"), [JSON, CSV]) == CSV


def csv_response(export: CsvExport) -> StreamingResponse:
    return StreamingResponse(
        export.body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


def csv_doc(columns: Sequence[str], pay_columns: Sequence[str] = ()) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a list that exports: JSON pages, or with
    `Accept: text/csv` the whole list as CSV."""
    pay = (
        f" The columns {', '.join(pay_columns)} appear only for callers who may see everyone's pay."
        if pay_columns
        else ""
    )
    return {
        200: {
            "content": {
                CSV: {
                    "schema": {"type": "string"},
                    "example": ",".join([*columns, *pay_columns]) + "\r\n",
                }
            },
            "description": "A page of JSON, or with `Accept: text/csv` every row after the cursor (same filters, "
            "`q` and `sort`; `limit` does not apply) as an RFC 4180 CSV stream with a header row "
            "(`Content-Disposition: attachment`). Text cells starting with = + - @ TAB or CR are prefixed with "
            f"a single quote.{pay}",
        }
    }
