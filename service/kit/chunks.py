"""Long lists in bounded pieces, written once: an `IN (...)` of at most 5,000 values per
statement (both databases take more, but plans and bind lists stay small and SQLite's
expression limits far away), and batched multi-row INSERTs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
IN_CHUNK = 5000


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """`values` in consecutive pieces of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
