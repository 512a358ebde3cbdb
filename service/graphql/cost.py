"""What a GraphQL document may ask for, measured before it is validated or run (after
fragment expansion).

Depth, alias and token limits (Strawberry's) look at the text; they do not see that ten
fragments of twenty spreads each expand to 20^5 = 3.2 million fields, which graphql-core
would then check, collect, merge and resolve for many seconds while the process serves
nobody else. This extension expands the operation's selections the way execution will,
each fragment computed once (memoized), so measuring costs time in the size of the
document, not of its expansion, and refuses with one GraphQL error when either bound is
passed:

- `nodes`: the number of fields selected, counting every fragment spread as often as it
  is spread (`GRAPHQL_MAX_NODES`, default 2,000);
- `cost`: the same fields, each weighted by the page sizes of the lists around it: a
  field whose definition takes `first` or `last` (a connection) multiplies what is under
  it by the literal `first` or `last` given, by the largest page (500) when it is a
  variable (variables are not known at validation) and by the default page (50) when
  both are absent;
  `nodes(ids:)` multiplies by the number of ids (500 for a variable)
  (`GRAPHQL_MAX_COST`, default 50,000). Other lists count once: their size is bounded by
  the data (an objective's key results), not by the client.

The refusal is a request error (HTTP 200 with `errors` and no `data`, nothing executed),
with `extensions: {"code": "query_too_costly", "nodes", "cost", "max_nodes",
"max_cost"}`. An execution timeout (service/graphql/schema.py) is the backstop for what
this estimate cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

DEFAULT_PAGE = 50
MAX_PAGE = 500
CAP = 10**12  # counts stop growing here: far past any limit, and the arithmetic stays small


@dataclass(frozen=True)
class Measure:
    nodes: int
    cost: int

    def __add__(self, other: Measure) -> Measure:
        return Measure(min(self.nodes + other.nodes, CAP), min(self.cost + other.cost, CAP))


ZERO = Measure(0, 0)


def _page(field_def: Any, node: FieldNode) -> int:
    """The multiplier of a connection field's subtree, or of `nodes(ids:)`'s (1 for
    anything else)."""
    args = field_def.args or {}
    if "first" in args or "last" in args:
        sizes = [
            max(1, min(int(arg.value.value), MAX_PAGE))
            if isinstance(arg.value, IntValueNode)
            else MAX_PAGE  # a variable: assume the largest page
            for arg in node.arguments or ()
            if arg.name.value in ("first", "last")
        ]
        return max(sizes, default=DEFAULT_PAGE)
    if "ids" in args:
        for arg in node.arguments or ():
            if arg.name.value == "ids":
                if isinstance(arg.value, ListValueNode):
                    return max(1, min(len(arg.value.values), MAX_PAGE))
                return MAX_PAGE if isinstance(arg.value, VariableNode) else 1  # a variable: assume the most
    return 1


class _Measurer:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.definitions = fragments
        self.fragments: dict[str, Measure] = {}
        self.visiting: set[str] = set()

    def selection_set(self, parent: Any, selections: SelectionSetNode | None) -> Measure:
        total = ZERO
        for sel in selections.selections if selections else ():
            if isinstance(sel, FieldNode):
                total += self.field(parent, sel)
            elif isinstance(sel, InlineFragmentNode):
                inner = parent
                if sel.type_condition is not None:
                    inner = self.schema.get_type(sel.type_condition.name.value) or parent
                total += self.selection_set(inner, sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                total += self.fragment(sel.name.value)
        return total

    def fragment(self, name: str) -> Measure:
        if name in self.fragments:
            return self.fragments[name]
        definition = self.definitions.get(name)
        if name in self.visiting or definition is None:  # a cycle, or unknown: validation reports it
            return ZERO
        self.visiting.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        measure = self.selection_set(parent, definition.selection_set)
        self.visiting.discard(name)
        self.fragments[name] = measure
        return measure

    def field(self, parent: Any, node: FieldNode) -> Measure:
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else None
        field_def = fields.get(node.name.value) if fields else None
        if field_def is None:  # __typename, or unknown (validation reports it)
            return Measure(1, 1)
        below = self.selection_set(get_named_type(field_def.type), node.selection_set)
        page = _page(field_def, node)
        return Measure(min(1 + below.nodes, CAP), min(page * (1 + below.cost), CAP))


def measure(schema: GraphQLSchema, document: DocumentNode) -> Measure:
    """The largest measure of the document's operations (a document that nests deeper
    than Python can walk measures as too costly)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    worst = ZERO
    measurer = _Measurer(schema, fragments)
    for op in document.definitions:
        if isinstance(op, OperationDefinitionNode):
            try:
                m = measurer.selection_set(roots.get(op.operation.value), op.selection_set)
            except RecursionError:
                m = Measure(CAP, CAP)
            worst = Measure(max(worst.nodes, m.nodes), max(worst.cost, m.cost))
    return worst


class QueryCost(SchemaExtension):
    """Measures the parsed document before any validation rule runs (graphql-core's
    OverlappingFieldsCanBeMergedRule expands fragments too, at a cost that grows with the
    expansion), and when a bound is passed answers with that one error: Strawberry skips
    validation and execution when an extension has set the pre-execution errors."""

    def __init__(self, *, max_nodes: int, max_cost: int) -> None:
        self.max_nodes = max_nodes
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.pre_execution_errors is None:
            m = measure(ctx.schema._schema, ctx.graphql_document)
            if m.nodes > self.max_nodes or m.cost > self.max_cost:
                ctx.pre_execution_errors = [
                    GraphQLError(
                        f"the query asks for too much: {m.nodes} fields after expanding fragments (at most "
                        f"{self.max_nodes}) at a cost of {m.cost} (at most {self.max_cost}); ask for fewer fields "
                        "or smaller pages",
                        extensions={
                            "code": "query_too_costly",
                            "status": 400,
                            "nodes": m.nodes,
                            "cost": m.cost,
                            "max_nodes": self.max_nodes,
                            "max_cost": self.max_cost,
                        },
                    )
                ]
        yield
