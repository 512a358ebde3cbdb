"""One row of any table as JSON and back, losslessly, by the table's column types:
decimals as strings (never floats), timestamps ISO 8601 with their UTC offset, dates
ISO, UUIDs as strings, bytes base64, JSON columns as they are. A column type this
module does not know is an error on export, so a new type is not written lossily by
accident (tests/tenants/test_lifecycle.py checks every column of the schema)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, LargeBinary, Numeric, String, Table, Uuid
from sqlalchemy.types import TypeDecorator, TypeEngine


class UnknownColumnType(TypeError):
    """A column whose type the codec cannot write losslessly."""


def _datetime_out(value: dt.datetime) -> str:
    if value.tzinfo is None:  # a naive timestamp is stored in UTC (service/types.py)
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _decimal_out(value: Any) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(value))


def _same(value: Any) -> Any:
    return value


def _bytes_out(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _bytes_in(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _int_in(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value


def _bool_in(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not a boolean: {value!r}")
    return value


def _str_in(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def _datetime_in(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {value!r}")
    return parsed


# (type class, encode, decode): the first whose class the column's type is an instance of.
# JSON precedes nothing it could shadow; Numeric covers Decimal columns, Integer BigInteger.
_CODECS: tuple[tuple[type[TypeEngine[Any]], Callable[[Any], Any], Callable[[Any], Any]], ...] = (
    (JSON, _same, _same),
    (Uuid, str, uuid.UUID),
    (DateTime, _datetime_out, _datetime_in),
    (Date, dt.date.isoformat, dt.date.fromisoformat),
    (Numeric, _decimal_out, Decimal),
    (Boolean, _same, _bool_in),
    (Integer, _same, _int_in),
    (LargeBinary, _bytes_out, _bytes_in),
    (String, _same, _str_in),  # Text too
)


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """A TypeDecorator's underlying type (ExactDecimal: Numeric, UtcDateTime: DateTime)."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def codec_of(type_: TypeEngine[Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    base = _base_type(type_)
    for kind, encode, decode in _CODECS:
        if isinstance(base, kind):
            return encode, decode
    raise UnknownColumnType(f"no lossless JSON form for column type {type_!r}")


class RowCodec:
    """Encodes and decodes the rows of one table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._codecs = {c.name: codec_of(c.type) for c in table.columns}

    def encode(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        return {name: None if value is None else self._codecs[name][0](value) for name, value in row.items()}

    def decode(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row's values as Python values; a column the table does not have, or a value
        of the wrong shape, is a ValueError naming it."""
        out: dict[str, Any] = {}
        for name, value in row.items():
            codec = self._codecs.get(name)
            if codec is None:
                raise ValueError(f"{self.table.name} has no column {name!r}")
            try:
                out[name] = None if value is None else codec[1](value)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise ValueError(f"{self.table.name}.{name}: {exc}") from exc
        return out
