"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no exact decimal and no time zones, so decimals are stored there as text and
timestamps are always handed back as UTC-aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """NUMERIC on PostgreSQL, exact text on SQLite; always a `Decimal` in Python."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return _plain(Decimal(value) if not isinstance(value, Decimal) else value)

    def result_processor(self, dialect, coltype):
        """One plain function per value (not the TypeDecorator's chain: scores load
        millions of decimals): SQLite's text becomes a Decimal, PostgreSQL's Decimal
        comes back in plain notation."""
        return _from_text if dialect.name == "sqlite" else _plain_or_none


def _plain(value: Decimal) -> Decimal:
    # asyncpg hands NUMERIC 60000 back as Decimal('6E+4'): the same number, but str()
    # would show the exponent; give it back in plain notation. A positive exponent
    # implies adjusted() > 0 and an "E" in str(); both are far cheaper than as_tuple(),
    # which only the few candidates reach.
    if value.adjusted() > 0 and "E" in str(value):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            return Decimal(format(value, "f"))
    return value


def _plain_or_none(value: Decimal | None) -> Decimal | None:
    return None if value is None else _plain(value)


def _from_text(value: str | Decimal | None) -> Decimal | None:
    return None if value is None else _plain(value if isinstance(value, Decimal) else Decimal(value))


class UtcDateTime(TypeDecorator):
    """Timestamps stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def result_processor(self, dialect, coltype):
        """asyncpg already hands `timestamptz` back aware and in UTC: nothing to do there."""
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562): keyset pages come out in creation order."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
