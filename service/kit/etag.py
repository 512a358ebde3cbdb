"""ETags from the row's version counter, and If-Match preconditions (412 when stale).

The version column is also SQLAlchemy's `version_id_col`, so two writers racing with the
same If-Match cannot both win: the loser's UPDATE matches no row and becomes a 412.

Services take the precondition as a value (`IfMatch`), never a request: REST routes parse
the `If-Match` header into one (`IfMatchHeader`), GraphQL mutations build one from their
`expected_version` argument, so both get the same optimistic concurrency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Response

from service.errors import PreconditionFailed

_TAG = re.compile(r'"(\d+)"')


@dataclass(frozen=True)
class IfMatch:
    """A precondition on a resource's version: the versions the client read, or any
    (`*`). An ETag this service did not make matches no version, so it is a 412."""

    versions: frozenset[int] | None  # None: any version (`If-Match: *`)

    @staticmethod
    def parse(header: str | None) -> IfMatch | None:
        """The `If-Match` header as a precondition (None when absent)."""
        if not header or not header.strip():
            return None
        candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
        if "*" in candidates:
            return IfMatch(None)
        return IfMatch(frozenset(int(m.group(1)) for c in candidates if (m := _TAG.fullmatch(c))))

    @staticmethod
    def of(version: int | None) -> IfMatch | None:
        """GraphQL's `expected_version` argument as a precondition (None when not given)."""
        return None if version is None else IfMatch(frozenset({version}))


def check_version(expected: IfMatch | None, version: int) -> None:
    """412 when the client expected another version than the stored one."""
    if expected is not None and expected.versions is not None and version not in expected.versions:
        raise PreconditionFailed("the resource changed since it was read (stale If-Match)")


def if_match_header(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description="the ETag read before changing the resource; 412 when it is stale"),
    ] = None,
) -> IfMatch | None:
    return IfMatch.parse(if_match)


# A route's `If-Match` precondition, passed on to the service as a value.
IfMatchHeader = Annotated[IfMatch | None, Depends(if_match_header)]


def etag_of(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)
