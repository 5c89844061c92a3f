"""Checks that need the variables' values, made after validation and before execution:
connection page sizes and cursors, `nodes(ids:)`, and the document's worst-case cost."""

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
    get_named_type,
    value_from_ast_untyped,
)

from graphql.pyutils import Undefined

from .arguments import DEFAULT_PAGE_SIZE, MAX_NODE_IDS, MAX_PAGE_SIZE, bad_user_input
from .ids import decode_cursor

MAX_COST = 20_000


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    cost: int = 0
    errors: list[GraphQLError] = field(default_factory=list)

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
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    self.selections(fragment.selection_set, target or parent, multiplier)

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
            count = len(ids) if isinstance(ids, list) else 1
            if count > MAX_NODE_IDS:
                self.errors.append(bad_user_input(f"`nodes` takes at most {MAX_NODE_IDS} ids."))
            self.cost += multiplier * count
            inner = multiplier * count
        self.selections(node.selection_set, result_type, inner)


def check_operation(
    schema: GraphQLSchema, operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any] | None,
) -> list[GraphQLError]:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return []
    walk = _Walk(schema, fragments, variables or {})
    walk.selections(operation.selection_set, root, 1)
    if walk.cost > MAX_COST:
        walk.errors.append(GraphQLError(
            f"The query's cost is {walk.cost}, above the limit of {MAX_COST}: ask for fewer items per connection.",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": walk.cost, "limit": MAX_COST},
        ))
    return walk.errors
