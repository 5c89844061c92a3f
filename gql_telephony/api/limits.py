"""The limits of the contract.

Depth and aliases are validation rules (they need only the document). Page sizes, cursors,
`nodes(ids:)` and the document's worst-case cost need the variables' values: they are checked
after validation and before execution. Every walk measures each fragment once, so a document
that spreads fragments into one another many times costs linear time to check, not exponential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    value_from_ast_untyped,
)

from graphql.execution.values import get_variable_values
from graphql.pyutils import Undefined

from .arguments import DEFAULT_PAGE_SIZE, MAX_NODE_IDS, MAX_PAGE_SIZE, bad_user_input
from .ids import decode_cursor

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_COST = 20_000


class _Shape:
    """Depth (the root fields are at depth 0, as graphql-depth-limit counts; introspection
    fields are not counted) and aliases, through fragments, each fragment measured once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.measured: dict[str, tuple[int, int]] = {}

    def of(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                inner_depth, inner_aliases = self.of(selection.selection_set)
                aliases += inner_aliases
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner_depth)
            elif isinstance(selection, InlineFragmentNode):
                inner_depth, inner_aliases = self.of(selection.selection_set)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner_depth, inner_aliases = self.fragment(selection.name.value)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
        return depth, aliases

    def fragment(self, name: str) -> tuple[int, int]:
        if name not in self.measured:
            self.measured[name] = (0, 0)  # unknown or cyclic: other rules refuse the document
            if name in self.fragments:
                self.measured[name] = self.of(self.fragments[name].selection_set)
        return self.measured[name]


class DocumentShapeLimits(ValidationRule):
    """Refuses a document deeper than MAX_DEPTH or with more than MAX_ALIASES aliases."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        definitions = context.document.definitions
        shape = _Shape({d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)})
        total_aliases = 0
        for operation in definitions:
            if not isinstance(operation, OperationDefinitionNode):
                continue
            depth, aliases = shape.of(operation.selection_set)
            total_aliases += aliases
            if depth > MAX_DEPTH:
                context.report_error(GraphQLError(
                    f"The operation is {depth} levels deep, above the depth limit of {MAX_DEPTH}.", operation,
                ))
        if total_aliases > MAX_ALIASES:
            context.report_error(GraphQLError(
                f"The document has {total_aliases} aliases, above the limit of {MAX_ALIASES} aliases."
            ))


# Every list of the schema, and why its length is accounted for. The cost multiplies whatever
# a list encloses by the list's length; two kinds of list can be long, and both are priced:
# - a connection's `edges` and `nodes`: at most its `first`, which the connection is priced at
#   and multiplies its whole selection by (`pageInfo` and `totalCount` included, a slight excess);
# - `Query.nodes(ids:)`: one object per id, the same id repeated included (up to 100).
# The others are short, and lead to no connection and no `nodes` at any depth (only to scalars
# and other short lists), so no cost term sits under them and multiplying by them would change
# no cost; the objects they add are a small constant per object that encloses them:
BOUNDED_LISTS = {
    ("Query", "telephonyProviders"): "the fixed catalogue of providers",
    ("ProviderMetadata", "fields"): "one provider's form: a handful of fields",
    ("TelephonyConfig", "warnings"): "at most one warning per code",
    ("TelephonyConfigWarningSummary", "byCode"): "one entry per warning code",
    ("UserError", "field"): "a path into the input: a few names",
    # One entry per refused input key, so bounded by the request body (1 MiB), not by a constant;
    # a payload is the answer of a root mutation field, never under a list.
    ("*Payload", "userErrors"): "one per refused input key, at the root",
}


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    cost: int = 0
    errors: list[GraphQLError] = field(default_factory=list)
    # A fragment's cost is linear in the multiplier it is spread under: each is priced once.
    unit_costs: dict[tuple[str, str], int] = field(default_factory=dict)

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = value_from_ast_untyped(argument.value, self.variables)
                return None if value is Undefined else value
        return None

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, multiplier: int) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, target or parent, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                self.cost += multiplier * self.unit_cost(selection.name.value, parent)

    def unit_cost(self, name: str, parent: GraphQLNamedType) -> int:
        key = (name, parent.name)
        if key not in self.unit_costs:
            self.unit_costs[key] = 0  # unknown or cyclic (validation refuses those)
            fragment = self.fragments.get(name)
            if fragment is not None:
                target = self.schema.get_type(fragment.type_condition.name.value)
                outer, self.cost = self.cost, 0
                self.selections(fragment.selection_set, target or parent, 1)
                self.unit_costs[key], self.cost = self.cost, outer
        return self.unit_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, multiplier: int) -> None:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        definition = parent.fields.get(name)
        if definition is None:
            return
        result_type = get_named_type(definition.type)
        inner = multiplier
        if result_type.name.endswith("Connection") and "first" in definition.args:
            first = self.argument(node, "first")
            if first is None:
                first = DEFAULT_PAGE_SIZE
            if isinstance(first, int) and not isinstance(first, bool):
                if not 1 <= first <= MAX_PAGE_SIZE:
                    self.errors.append(bad_user_input(f"`first` on `{name}` must be between 1 and {MAX_PAGE_SIZE}."))
                    first = MAX_PAGE_SIZE
                self.cost += multiplier * first
                inner = multiplier * first
            after = self.argument(node, "after")
            if isinstance(after, str) and decode_cursor(after) is None:
                self.errors.append(bad_user_input(f"`after` on `{name}` is not a cursor of this connection."))
        elif name == "nodes" and "ids" in definition.args:
            ids = self.argument(node, "ids")
            count = len(ids) if isinstance(ids, list) else 1  # one id alone is coerced to a list of one
            if count > MAX_NODE_IDS:
                self.errors.append(bad_user_input(f"`nodes` takes at most {MAX_NODE_IDS} ids."))
            # One object per id, the same id repeated included: what it selects is answered
            # `count` times, so it is priced `count` times.
            self.cost += multiplier * count
            inner = multiplier * count
        self.selections(node.selection_set, result_type, inner)


def with_defaults(operation: OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables as execution will see them: a left-out variable takes its declared default."""
    filled = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in filled and definition.default_value is not None:
            filled[name] = value_from_ast_untyped(definition.default_value)
    return filled


def _priced(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
) -> _Walk:
    # Priced as execution will see them: coerced (100.0 is the Int 100, one id a list of one),
    # defaults filled in. Values that do not coerce fail before execution; priced as sent.
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    values = with_defaults(operation, variables or {}) if isinstance(coerced, list) else coerced.coerced
    walk = _Walk(schema, fragments, values)
    root = schema.get_root_type(operation.operation)
    if root is not None:
        walk.selections(operation.selection_set, root, 1)
    return walk


def operation_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None = None,
) -> int:
    """The contract's cost of the operation with these variables."""
    return _priced(schema, operation, fragments, variables).cost


def check_operation(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
) -> list[GraphQLError]:
    walk = _priced(schema, operation, fragments, variables)
    if walk.cost > MAX_COST:
        walk.errors.append(GraphQLError(
            f"The query's cost is {walk.cost}, above the limit of {MAX_COST}: ask for fewer items per connection or fewer ids.",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": walk.cost, "limit": MAX_COST},
        ))
    return walk.errors
