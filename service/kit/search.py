"""Search (`q`), written once: a bounded, case-insensitive substring match whose input
can never act as a pattern.

`q` is split on whitespace into at most `MAX_TERMS` words, and every word must occur in
the searched text (`ILIKE '%word%'`; `%`, `_` and `\\` in a word are escaped, so they match
themselves). What "the searched text" is belongs to each list (an employee's names, email
and external id; an objective's title), written as one SQL expression.

PostgreSQL runs the same `ILIKE` with or without an index; where the `pg_trgm` extension
is installed, migration 0014 added GIN trigram indexes on the expressions the large lists
search (employees, objectives), which `ILIKE '%word%'` uses. SQLite evaluates
`lower(text) LIKE lower(pattern)`, whose case folding covers ASCII letters only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, true

from service.errors import ValidationFailed

MAX_LENGTH = 100
MAX_TERMS = 8
ESCAPE = "\\"
Q_LOC: list[str | int] = ["query", "q"]
DESCRIPTION = (
    f"Search: every whitespace-separated word (at most {MAX_TERMS}, {MAX_LENGTH} characters in all) must occur, "
    "case-insensitively, in the searched fields; `%` and `_` match themselves."
)


def terms(q: str | None, loc: list[str | int] | None = None) -> list[str]:
    """The words of `q` (none for an absent or blank one); a 422 naming `q` when it is
    too long, has too many words, or holds a NUL."""
    if q is None:
        return []
    loc = loc or Q_LOC
    if len(q) > MAX_LENGTH:
        raise _refuse(f"q is longer than {MAX_LENGTH} characters", loc)
    if "\x00" in q:
        raise _refuse("must not contain a NUL character (U+0000)", loc)
    words = q.split()
    if len(words) > MAX_TERMS:
        raise _refuse(f"q has more than {MAX_TERMS} words", loc)
    return list(dict.fromkeys(words))


def _refuse(msg: str, loc: list[str | int]) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": loc, "msg": msg}])


def like_pattern(word: str) -> str:
    """`%word%` with the word's own wildcards and escape character escaped."""
    escaped = word.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def matches(text: Any, words: Sequence[str]) -> ColumnElement[bool]:
    """`text` contains every word, case-insensitively (true for no words)."""
    if not words:
        return true()
    return and_(*(text.ilike(like_pattern(w), escape=ESCAPE) for w in words))
