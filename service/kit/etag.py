"""ETags from the row's version counter, and If-Match preconditions (412 when stale).

The version column is also SQLAlchemy's `version_id_col`, so two writers racing with the
same If-Match cannot both win: the loser's UPDATE matches no row and becomes a 412.
"""

from __future__ import annotations

from fastapi import Request, Response

from service.errors import PreconditionFailed


def etag_of(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


def check_if_match(request: Request | None, version: int) -> None:
    if request is None:
        return
    header = request.headers.get("if-match")
    if not header:
        return
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return
    current = etag_of(version)
    if not any(c.removeprefix("W/") == current for c in candidates):
        raise PreconditionFailed("the resource changed since it was read (stale If-Match)")
