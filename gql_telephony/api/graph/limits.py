"""The limits of the contract.

Depth and aliases are validation rules (they need only the document). Page sizes, cursors,
`nodes(ids:)`, the document's worst-case cost and the largest response it can make need the
variables' values: they are checked after validation and before execution. Every walk measures
each fragment once, so a document that spreads fragments into one another many times costs
linear time to check, not exponential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLWrappingType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Undefined
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef, introspection_types

from ...domain.ids import decode_cursor
from .arguments import DEFAULT_PAGE_SIZE, MAX_NODE_IDS, MAX_PAGE_SIZE, bad_user_input
from .audit_pages import filter_refusal
from .documents import fragment_map
from .response_size import KEY_PUNCTUATION, MIN_FIELD_SIZE, field_definition, list_length, value_size

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_COST = 20_000
# The most bytes of JSON the response to an accepted document can hold, every field counted at
# its largest and at MIN_FIELD_SIZE at least (so at most 262,144 fields): see response_size.py.
MAX_RESPONSE_SIZE = 32 * 1024 * 1024


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
        shape = _Shape(fragment_map(context.document))
        total_aliases = 0
        for operation in context.document.definitions:
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


@dataclass
class _Walk:
    """Adds up, in one walk, the cost (connections' pages and `nodes(ids:)`, each multiplied by
    the lists enclosing it) and the size of the largest response (every field answered, at its
    largest, as many times as the enclosing lists can repeat it)."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    cost: int = 0
    size: int = 0
    errors: list[GraphQLError] = field(default_factory=list)
    # Cost and size are linear in the multiplier a fragment is spread under: each fragment is
    # measured once per type and enclosing page size.
    units: dict[tuple[str, str, int, int], tuple[int, int]] = field(default_factory=dict)
    # How many `ofType` in a row lead to the __Type being walked: past the schema's most wrapped
    # type (`[ID!]!` is three wrappers deep), `ofType` is null and nothing under it is answered.
    of_types: int = 0
    # Whether an argument read holds a variable: if none does, the walk's answer is the same for
    # any variables (the document's limits can be checked once).
    read_variables: bool = False

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                self.read_variables = self.read_variables or _holds_variable(argument.value)
                value = value_from_ast_untyped(argument.value, self.variables)
                return None if value is Undefined else value
        return None

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, multiplier: int, page: int,
    ) -> None:
        """`page` is the `first` of the connection `parent` is, which its `edges` and `nodes` hold."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, multiplier, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, target or parent, multiplier, page)
            elif isinstance(selection, FragmentSpreadNode):
                cost, size = self.unit(selection.name.value, parent, page)
                self.cost += multiplier * cost
                self.size += multiplier * size

    def unit(self, name: str, parent: GraphQLNamedType, page: int) -> tuple[int, int]:
        key = (name, parent.name, page, self.of_types)
        if key not in self.units:
            self.units[key] = (0, 0)  # unknown or cyclic (validation refuses those)
            fragment = self.fragments.get(name)
            if fragment is not None:
                target = self.schema.get_type(fragment.type_condition.name.value)
                outer = self.cost, self.size
                self.cost = self.size = 0
                self.selections(fragment.selection_set, target or parent, 1, page)
                self.units[key] = (self.cost, self.size)
                self.cost, self.size = outer
        return self.units[key]

    def check_filter(self, node: FieldNode, name: str) -> None:
        """An audit trail's filter naming no id of ours, or an empty span of time (audit_pages.py)."""
        given = self.argument(node, "filter")
        if not isinstance(given, dict):
            return
        moments = [self.moment(given.get(bound)) for bound in ("since", "until")]
        refusal = filter_refusal(name, given.get("entityId"), *moments)
        if refusal is not None:
            self.errors.append(bad_user_input(refusal))

    def moment(self, value: Any) -> datetime | None:
        """A DateTime as the filter takes it: a literal is still text here, a variable's is coerced."""
        if isinstance(value, datetime) or value is None:
            return value
        scalar = self.schema.type_map.get("DateTime")
        if not isinstance(scalar, GraphQLScalarType):
            return None
        try:
            parsed = scalar.parse_value(value)
        except Exception:  # not a time: validation refuses it, this rule has nothing to say
            return None
        return parsed if isinstance(parsed, datetime) else None

    def field(self, node: FieldNode, parent: GraphQLNamedType, multiplier: int, page: int) -> None:
        name = node.name.value
        definition = field_definition(self.schema, parent, name)
        if definition is None:
            return
        result_type = get_named_type(definition.type)
        items: int | None = None  # how many the field holds, when it is a list
        inner_page = 1
        if result_type.name.endswith("Connection") and "first" in definition.args:
            first = self.argument(node, "first")
            if first is None:
                first = DEFAULT_PAGE_SIZE
            if isinstance(first, int) and not isinstance(first, bool):
                if not 1 <= first <= MAX_PAGE_SIZE:
                    self.errors.append(bad_user_input(f"`first` on `{name}` must be between 1 and {MAX_PAGE_SIZE}."))
                    first = MAX_PAGE_SIZE
                self.cost += multiplier * first
                inner_page = first
            after = self.argument(node, "after")
            if isinstance(after, str) and decode_cursor(after) is None:
                self.errors.append(bad_user_input(f"`after` on `{name}` is not a cursor of this connection."))
            if "filter" in definition.args:
                self.check_filter(node, name)
        elif name == "nodes" and "ids" in definition.args:
            ids = self.argument(node, "ids")
            items = len(ids) if isinstance(ids, list) else 1  # one id alone is coerced to a list of one
            if items > MAX_NODE_IDS:
                self.errors.append(bad_user_input(f"`nodes` takes at most {MAX_NODE_IDS} ids."))
            # One object per id, the same id repeated included: what it selects is answered
            # `items` times, so it is priced `items` times.
            self.cost += multiplier * items
        elif parent.name.endswith("Connection") and name in ("edges", "nodes"):
            items = page
        elif is_list_type(get_nullable_type(definition.type)):
            items = list_length(self.schema, parent, name)
        # The key is the alias when there is one: a long alias is as many bytes in every copy.
        key = node.alias.value if node.alias else name
        value, item = value_size(self.schema, parent, name, definition.type)
        self.size += multiplier * (max(MIN_FIELD_SIZE, len(key) + KEY_PUNCTUATION + value) + (items or 0) * item)
        of_types = self.of_types + 1 if parent.name == "__Type" and name == "ofType" else 0
        if of_types > most_wrapped(self.schema):
            return  # null: its selection is never answered
        outer, self.of_types = self.of_types, of_types
        self.selections(node.selection_set, result_type, multiplier * (1 if items is None else items), inner_page)
        self.of_types = outer


def _holds_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(map(_holds_variable, value.values))
    if isinstance(value, ObjectValueNode):
        return any(_holds_variable(item.value) for item in value.fields)
    return False


@lru_cache(maxsize=8)
def most_wrapped(schema: GraphQLSchema) -> int:
    """The most wrappers (non-null, list) around a named type anywhere in the schema, its
    introspection types and directives included: the longest `ofType` chain that is not null."""
    def wrappers(type_: Any) -> int:
        count = 0
        while isinstance(type_, GraphQLWrappingType):
            type_, count = type_.of_type, count + 1
        return count

    types = [*schema.type_map.values(), *introspection_types.values()]
    typed = [f for t in types for f in getattr(t, "fields", {}).values()]
    typed += [a for f in typed for a in getattr(f, "args", {}).values()]
    typed += [a for d in schema.directives for a in d.args.values()]
    typed += [SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef, *TypeMetaFieldDef.args.values()]
    return max(wrappers(f.type) for f in typed)


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
        walk.selections(operation.selection_set, root, 1, 1)
    return walk


def operation_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None = None,
) -> int:
    """The contract's cost of the operation with these variables."""
    return _priced(schema, operation, fragments, variables).cost


def response_size(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None = None,
) -> int:
    """The most bytes the operation's response can hold with these variables (see response_size.py)."""
    return _priced(schema, operation, fragments, variables).size


def check_operation(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
) -> list[GraphQLError]:
    return check_operation_noting(schema, operation, fragments, variables)[0]


def check_operation_noting(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
) -> tuple[list[GraphQLError], bool]:
    """The refusals, and whether they depended on the variables (an argument read held one)."""
    walk = _priced(schema, operation, fragments, variables)
    if walk.cost > MAX_COST:
        walk.errors.append(GraphQLError(
            f"The query's cost is {walk.cost}, above the limit of {MAX_COST}: "
            "ask for fewer items per connection or fewer ids.",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": walk.cost, "limit": MAX_COST},
        ))
    elif walk.size > MAX_RESPONSE_SIZE:  # one refusal at a time: the cost's is the better known
        walk.errors.append(GraphQLError(
            f"The response to this query could hold {walk.size} bytes, above the limit of {MAX_RESPONSE_SIZE}:"
            " ask for fewer items, fields or aliases.",
            extensions={"code": "QUERY_TOO_COMPLEX", "size": walk.size, "limit": MAX_RESPONSE_SIZE},
        ))
    return walk.errors, walk.read_variables
