"""From a validated query operation to a plan: the tree of fields to produce, per object type.

Fields are collected by graphql-core's own `collect_fields`/`collect_subfields`, so aliases,
merging, fragments, type conditions and @skip/@include mean exactly what they mean to the
generic executor. A document that asks for anything `fields.py` does not cover (introspection,
subscriptions, a field not declared there) has no plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.language import DirectiveNode, Node

from ...storage.queries import POSITIONS
from ..graph.documents import fragment_map
from .fields import FIELDS, INLINE_NAMES, ROW_TABLES, TYPENAME, FieldSpec


class NoPlan(Exception):
    """The plan does not cover this document or request: the generic executor answers it."""


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str  # the response key: the alias, or the field's name
    spec: FieldSpec
    definition: GraphQLField | None  # None for __typename
    node: Any  # the first FieldNode: arguments come from it, as in graphql-core
    static_arguments: dict[str, Any] | None  # coerced once when no argument uses a variable
    is_list: bool  # a list of objects (or of leaves), not one
    # For a field of object type: the plan of its value, per concrete type it may have.
    children: dict[str, TypePlan] | None

    def arguments(self, variables: VariableValues) -> dict[str, Any]:
        if self.static_arguments is not None:
            return self.static_arguments
        return get_argument_values(self.definition, self.node, variables)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TypePlan:
    """The fields asked of one object type at one place in the document."""

    type_name: str
    fields: tuple[FieldPlan, ...]
    # Makes an object's dict from its source in one call: every key in the document's order,
    # the leaves already computed, None in place of the fields `later` fills.
    build: Callable[[Any], dict[str, Any]]
    later: tuple[FieldPlan, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    root: TypePlan
    requested: dict[str, frozenset[str]]  # the fields asked of each type, anywhere in the document

    def asks(self, type_name: str, *field_names: str) -> bool:
        return not self.requested.get(type_name, frozenset()).isdisjoint(field_names)


def fragment_details(document: DocumentNode) -> dict[str, FragmentDetails]:
    fragments = fragment_map(document)
    if any(fragment.variable_definitions for fragment in fragments.values()):
        raise NoPlan("fragment variables")
    return {name: FragmentDetails(fragment, None) for name, fragment in fragments.items()}


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables that @skip or @include read: a plan holds for one set of their values."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, DirectiveNode):
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    found.add(argument.value.name.value)
        if isinstance(node, Node):
            for key in node.keys:
                value = getattr(node, key, None)
                if isinstance(value, tuple | list):
                    for item in value:
                        visit(item)
                elif isinstance(value, Node):
                    visit(value)

    visit(document)
    return tuple(sorted(found))


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: VariableValues
) -> Plan:
    if operation.operation is not OperationType.QUERY:
        raise NoPlan("not a query")
    fragments = fragment_details(document)
    query_type = schema.query_type
    assert query_type is not None
    collected = collect_fields(schema, fragments, variables, query_type, operation)
    if collected.new_defer_usages:
        raise NoPlan("@defer")
    compiler = _Compiler(schema, fragments, variables, operation)
    root = compiler.type_plan(query_type, collected.grouped_field_set)
    return Plan(root, {name: frozenset(asked) for name, asked in compiler.requested.items()})


class _Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDetails], variables: VariableValues,
                 operation: OperationDefinitionNode) -> None:
        self.schema, self.fragments, self.variables, self.operation = schema, fragments, variables, operation
        self.requested: dict[str, set[str]] = {}

    def type_plan(self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]) -> TypePlan:
        fields = self.fields_of(parent, grouped)
        later = tuple(field for field in fields if not _built_at_once(field))
        return TypePlan(parent.name, fields, builder(parent.name, fields), later)

    def fields_of(self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]) -> tuple[FieldPlan, ...]:
        specs = FIELDS.get(parent.name)
        if specs is None:
            raise NoPlan(f"type {parent.name}")
        plans = []
        for key, details in grouped.items():
            if any(detail.fragment_variable_values is not None for detail in details):
                raise NoPlan("fragment variables")
            node = details[0].node
            name = node.name.value
            spec = specs.get(name)
            if spec is None:
                raise NoPlan(f"field {parent.name}.{name}")
            self.requested.setdefault(parent.name, set()).add(name)
            definition = parent.fields.get(name) if name != "__typename" else None
            children, is_list = None, False
            if definition is not None:
                is_list = isinstance(get_nullable_type(definition.type), GraphQLList)
                named = get_named_type(definition.type)
                if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                    children = {
                        concrete.name: self.subfields(concrete, details) for concrete in self.concrete_types(named)
                    }
            plans.append(FieldPlan(key, spec, definition, node, self.static_arguments(definition, node), is_list,
                                   children))
        return tuple(plans)

    def subfields(self, concrete: GraphQLObjectType, details: list[FieldDetails]) -> TypePlan:
        collected = collect_subfields(self.schema, self.fragments, self.variables, self.operation, concrete, details)
        if collected.new_defer_usages:
            raise NoPlan("@defer")
        return self.type_plan(concrete, collected.grouped_field_set)

    def concrete_types(self, named: GraphQLNamedType) -> list[GraphQLObjectType]:
        if isinstance(named, GraphQLObjectType):
            return [named]
        return list(self.schema.get_possible_types(named))  # type: ignore[arg-type]

    def static_arguments(self, definition: GraphQLField | None, node: Any) -> dict[str, Any] | None:
        if definition is None:
            return {}
        arguments: tuple[ArgumentNode, ...] = node.arguments or ()
        if any(_uses_variable(argument.value) for argument in arguments):
            return None
        return get_argument_values(definition, node, self.variables)


def _built_at_once(field: FieldPlan) -> bool:
    """A leaf computed from its source alone: the builder computes it."""
    return field.children is None and field.spec.batch is None


def builder(type_name: str, fields: tuple[FieldPlan, ...]) -> Callable[[Any], dict[str, Any]]:
    """Generates the function that makes an object's dict from its source `s`: a dict display
    with an expression per leaf. For a thousand rows this is several times faster than setting
    each field of each object in turn. Keys are GraphQL names (letters, digits, underscores),
    written with repr all the same."""
    namespace: dict[str, Any] = dict(INLINE_NAMES)
    entries = []
    for index, field in enumerate(fields):
        spec = field.spec
        if spec is TYPENAME:
            value = repr(type_name)
        elif not _built_at_once(field):
            value = "None"
        elif spec.inline is not None:
            value = _by_position(type_name, spec.inline)
        else:
            namespace[f"get{index}"] = spec.get
            value = f"get{index}(s)"
        entries.append(f"{field.key!r}: {value}")
    source = "def build(s):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<plan of {type_name}>", "exec"), namespace)  # noqa: S102 - our own expressions
    return namespace["build"]


def _by_position(type_name: str, expression: str) -> str:
    """`s.phone_number` as `s[3]` where the sources are rows (see storage/queries.py POSITIONS)."""
    table = ROW_TABLES.get(type_name)
    if table is None:
        return expression
    positions = POSITIONS[table]
    return re.sub(r"\bs\.(\w+)", lambda match: f"s[{positions[match.group(1)]}]", expression)


def _uses_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    items = getattr(value, "values", None) or ()
    fields = getattr(value, "fields", None) or ()
    return any(_uses_variable(item) for item in items) or any(_uses_variable(f.value) for f in fields)

