"""SCIM filters and sortBy translated to SQL, so that `totalResults` counts what matches
and paging applies to the matches: nothing is ever filtered after a page is read.

A resource type describes each attribute it can filter on as an `Attribute`: its SQL
value, when the resource has a value for it (`present`), and its kind. The translation
follows the semantics of scim2-models' in-memory evaluator (`ScimFilter.match`), which
the tests compare it against:

- a comparison with a value holds only where the attribute has a value; `ne` also
  holds where it has none; `eq null` holds where it has none;
- strings compare without case unless the attribute is caseExact; `co`, `sw` and `ew`
  use string functions, not LIKE, so `%` and `_` in a value are plain characters;
- every condition is two-valued (a missing value is tested before it is compared), so
  `not (…)` negates exactly;
- a multi-valued attribute kept in other rows (a Group's members) matches when some
  value matches, and `ne` when none is equal.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidFilterException, InvalidValueException, ScimFilter, SearchRequest
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import and_, case, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

Condition = ColumnElement[bool]

STRING, BOOLEAN, DATETIME, UUID, CONSTANT, COMPLEX = ("string", "boolean", "datetime", "uuid", "constant", "complex")
ORDERING = {CompareOperator.gt, CompareOperator.ge, CompareOperator.lt, CompareOperator.le}
SUBSTRING = {CompareOperator.co, CompareOperator.sw, CompareOperator.ew}


@dataclass(frozen=True)
class Attribute:
    kind: str
    present: Condition
    value: Any = None  # a SQL expression, or the Python value of a CONSTANT
    each: Callable[[Condition], Condition] | None = None  # "some value of it satisfies…"


def has_text(column: Any) -> Condition:
    return and_(column.is_not(None), column != "")


def _key(urn: str) -> str:
    return urn.lower()


class SqlFilter(FilterVisitor[Condition]):
    """Translate the syntax tree of a filter bound to one resource model."""

    def __init__(
        self,
        scim_filter: ScimFilter[Any],
        attributes: Mapping[str, Attribute],
        dialect: str,
        *,
        within: AttrPath | None = None,
    ) -> None:
        self.filter = scim_filter
        self.attributes = attributes
        self.dialect = dialect
        self.within = within

    # -- resolution -----------------------------------------------------------------------

    def _path(self, attr_path: AttrPath) -> AttrPath:
        if self.within is None:
            return attr_path
        return AttrPath(self.within.attr, attr_path.attr, self.within.uri)

    def _attribute(self, urn: str) -> Attribute:
        attribute = self.attributes.get(_key(urn))
        if attribute is None:
            raise InvalidFilterException(detail=f"Filtering on {urn!r} is not supported")
        return attribute

    def _each(self, attribute: Attribute, condition: Condition) -> Condition:
        # Inside a value selection, the selection itself wraps the whole inner filter.
        return attribute.each(condition) if attribute.each and self.within is None else condition

    # -- nodes ------------------------------------------------------------------------------

    def visit_comparison(self, node: Comparison) -> Condition:
        binding = self.filter.resolve_comparison(self._path(node.attr_path))
        assert binding is not None
        attribute = self._attribute(binding.urn)
        if attribute.kind == COMPLEX:
            raise InvalidFilterException(detail=f"{binding.urn!r} is complex: compare a sub-attribute")
        value = coerce_value(binding, node.value, node.op)
        if isinstance(value, enum.Enum):
            value = value.value
        op = node.op
        if value is None:
            if op == CompareOperator.eq:
                return not_(self._each(attribute, attribute.present))
            if op == CompareOperator.ne:
                return self._each(attribute, attribute.present)
            return false()
        matches = and_(attribute.present, self._compare(attribute, op, value, binding.case_exact))
        if op == CompareOperator.ne:
            equal = and_(attribute.present, self._compare(attribute, CompareOperator.eq, value, binding.case_exact))
            if attribute.each and self.within is None:
                return not_(attribute.each(equal))
            return not_(equal)
        return self._each(attribute, matches)

    def visit_present(self, node: Present) -> Condition:
        binding = self.filter.resolve(self._path(node.attr_path))
        assert binding is not None
        attribute = self._attribute(binding.urn)
        return self._each(attribute, attribute.present)

    def visit_not(self, node: Not) -> Condition:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Condition:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Condition:
        if self.within is not None:
            raise InvalidFilterException(detail="value selections cannot be nested")
        binding = self.filter.resolve(node.attr_path)
        assert binding is not None
        attribute = self._attribute(binding.urn)
        inner = SqlFilter(self.filter, self.attributes, self.dialect, within=node.attr_path)
        condition = and_(attribute.present, inner.visit(node.val_filter))
        return attribute.each(condition) if attribute.each else condition

    # -- comparisons ------------------------------------------------------------------------

    def _compare(self, attribute: Attribute, op: CompareOperator, value: Any, case_exact: bool) -> Condition:
        if attribute.kind == CONSTANT:
            return true() if _compare_constant(attribute.value, op, value, case_exact) else false()
        if attribute.kind == UUID:
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilterException(detail="identifiers can only be compared with eq or ne")
            try:
                return attribute.value == uuid.UUID(str(value))
            except ValueError:
                return false()
        if attribute.kind == BOOLEAN:
            if not isinstance(value, bool) or op not in (CompareOperator.eq, CompareOperator.ne):
                return false()
            return attribute.value if value else not_(attribute.value)
        if attribute.kind == DATETIME:
            if not isinstance(value, dt.datetime) or op in SUBSTRING:
                return false()
            return _operate(attribute.value, op, value)
        if not isinstance(value, str):
            return false()
        return self._compare_text(attribute.value, op, value, case_exact)

    def _compare_text(self, column: Any, op: CompareOperator, value: str, case_exact: bool) -> Condition:
        from service.scim.mapping import comparison_key

        left = column if case_exact else func.lower(column)
        right = value if case_exact else comparison_key(value)
        if op == CompareOperator.co:
            position = func.strpos(left, right) if self.dialect == "postgresql" else func.instr(left, right)
            return position > 0
        if op == CompareOperator.sw:
            return func.substr(left, 1, len(right)) == right
        if op == CompareOperator.ew:
            return and_(func.length(left) >= len(right), func.substr(left, func.length(left) - len(right) + 1) == right)
        if op in ORDERING and self.dialect == "postgresql":
            return _operate(left.collate("C"), op, literal(right).collate("C"))
        return _operate(left, op, right)


def _operate(left: Any, op: CompareOperator, right: Any) -> Condition:
    return {
        CompareOperator.eq: lambda: left == right,
        CompareOperator.ne: lambda: left != right,
        CompareOperator.gt: lambda: left > right,
        CompareOperator.ge: lambda: left >= right,
        CompareOperator.lt: lambda: left < right,
        CompareOperator.le: lambda: left <= right,
    }[op]()


def _compare_constant(actual: str, op: CompareOperator, value: Any, case_exact: bool) -> bool:
    if not isinstance(value, str):
        return False
    left, right = (actual, value) if case_exact else (actual.lower(), value.lower())
    return {
        CompareOperator.eq: left == right,
        CompareOperator.ne: left != right,
        CompareOperator.co: right in left,
        CompareOperator.sw: left.startswith(right),
        CompareOperator.ew: left.endswith(right),
        CompareOperator.gt: left > right,
        CompareOperator.ge: left >= right,
        CompareOperator.lt: left < right,
        CompareOperator.le: left <= right,
    }[op]


MAX_FILTER_CHARS = 4096  # a filter longer than this is refused before it is parsed (service/scim/app.py)
MAX_FILTER_TERMS = 100  # comparisons and presence tests in one filter


def check_size(text: str | None) -> None:
    """A filter's text is bounded before parsing: parsing and translating cost time in
    its length, and an identity provider never sends more than a few conditions."""
    if text is not None and len(text) > MAX_FILTER_CHARS:
        raise InvalidFilterException(detail=f"the filter is longer than {MAX_FILTER_CHARS} characters")


def check_terms(ast: Any) -> None:
    """At most MAX_FILTER_TERMS conditions (3,000 `or`ed ones made a statement that ran
    for 16 s, and SQLite refuses an expression tree that deep)."""
    count, stack = 0, [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, LogicalExpr):
            stack.extend(node.terms)
        elif isinstance(node, Not):
            stack.append(node.expr)
        elif isinstance(node, ValuePath):
            stack.append(node.val_filter)
        else:
            count += 1
            if count > MAX_FILTER_TERMS:
                raise InvalidFilterException(detail=f"the filter has more than {MAX_FILTER_TERMS} conditions")


def where_clause(
    search_request: SearchRequest[Any], model: type[Any], attributes: Mapping[str, Attribute], dialect: str
) -> Condition | None:
    if search_request.filter is None:
        return None
    check_terms(search_request.filter.ast)
    bound = ScimFilter[model](search_request.filter.ast)  # type: ignore[valid-type]
    return SqlFilter(bound, attributes, dialect).visit(bound.ast)


def order_by(
    search_request: SearchRequest[Any],
    model: type[Any],
    attributes: Mapping[str, Attribute],
    dialect: str,
    default: list[Any],
) -> list[Any]:
    """RFC 7644 section 3.4.2.3: strings without case unless caseExact, resources without
    a value last when ascending and first when descending; then `default`, which ends
    with the primary key so that pages are stable."""
    if search_request.sort_by is None:
        return default
    binding = search_request.sort_binding(model)
    if binding is None:
        return default
    attribute = attributes.get(_key(binding.urn))
    if attribute is None or attribute.each is not None or attribute.kind in (COMPLEX, CONSTANT):
        raise InvalidValueException(detail=f"Sorting by {str(search_request.sort_by)!r} is not supported")
    key = attribute.value
    if attribute.kind == STRING and not binding.case_exact:
        key = func.lower(key)
    if attribute.kind == STRING and dialect == "postgresql":
        key = key.collate("C")
    missing = case((attribute.present, 0), else_=1)
    if search_request.sort_order == SearchRequest.SortOrder.descending:
        return [missing.desc(), key.desc(), *default]
    return [missing, key, *default]
