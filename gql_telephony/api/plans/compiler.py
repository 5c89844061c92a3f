"""From a validated query operation to a plan: the tree of fields to produce, per object type.

Fields are collected by graphql-core's own `collect_fields`/`collect_subfields`, so aliases,
merging, fragments, type conditions and @skip/@include mean exactly what they mean to the
generic executor. Each field is made by its one definition (api/graph/fields.py), found through
the schema. A document that asks for anything else (introspection, subscriptions, a mutation's
payload) has no plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
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

from ..graph.documents import fragment_map
from ..graph.fields import Batched, Definition, Read, columns_of, definition_of

# Leaves whose Python values are already their JSON values (JSON is Strawberry's scalar of any value).
AS_THEY_ARE = {GraphQLString.name, GraphQLID.name, GraphQLInt.name, GraphQLFloat.name, "JSON"}


# Runs of a plan with one statement each before it runs without a transaction (again, once one
# needed more: an organization with no configuration reads its webhooks' count apart).
MISSES_REMEMBERED = 16


class NoPlan(Exception):
    """The plan does not cover this document or request: the generic executor answers it."""


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str  # the response key: the alias, or the field's name
    definition: Definition | None  # None for __typename
    field: GraphQLField | None  # None for __typename
    node: Any  # the first FieldNode: arguments come from it, as in graphql-core
    python_names: dict[str, str]  # the definition's argument names, by GraphQL name
    static_arguments: dict[str, Any] | None  # coerced once when no argument uses a variable
    is_list: bool  # a list of objects (or of leaves), not one
    abstract: bool  # of an interface: its values are (type name, source) pairs
    serialize: Callable[[Any], Any] | None  # a leaf's Python value to its JSON value (None: as it is)
    # For a field of object type: the plan of its value, per concrete type it may have.
    children: dict[str, TypePlan] | None

    def arguments(self, variables: VariableValues) -> dict[str, Any]:
        """The definition's keyword arguments."""
        if self.static_arguments is not None:
            return self.static_arguments
        return self.named(get_argument_values(self.field, self.node, variables))  # type: ignore[arg-type]  # not __typename

    def named(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {self.python_names[name]: value for name, value in arguments.items()}


@dataclass(frozen=True, slots=True)
class TypePlan:
    """The fields asked of one object type at one place in the document."""

    type_name: str
    fields: tuple[FieldPlan, ...]
    # Makes an object's dict from its source in one call: every key in the document's order,
    # the leaves already computed, None in place of the fields `later` fills.
    build: Callable[[Any], dict[str, Any]]
    later: tuple[FieldPlan, ...]


@dataclass(slots=True)
class Learned:
    """What the runs of a plan taught (plans/runner.py): `misses` is counted down by each run
    that needed one statement only and set back to MISSES_REMEMBERED by one that needed more. A
    new plan starts there: it shows that one statement answers it before it runs without a
    transaction."""

    misses: int = dataclasses.field(default_factory=lambda: MISSES_REMEMBERED)
    # What plans/first_read.py found of the plan: the fields it reads pages with (None: not looked).
    page_fields: tuple[tuple[FieldPlan, ...], tuple[FieldPlan, ...]] | None = None

    def ran(self, *, statements: int) -> None:
        if statements > 1:
            self.needed_more()
        else:
            self.misses = max(0, self.misses - 1)

    def needed_more(self) -> None:
        """A run needed more than one statement (or was refused a second one without a transaction)."""
        self.misses = MISSES_REMEMBERED


@dataclass(frozen=True, slots=True)
class Plan:
    root: TypePlan
    requested: dict[str, frozenset[str]]  # the fields asked of each type, anywhere in the document
    learned: Learned = dataclasses.field(default_factory=Learned, compare=False)

    def asks(self, type_name: str, *field_names: str) -> bool:
        return not self.requested.get(type_name, frozenset()).isdisjoint(field_names)


def fragment_details(document: DocumentNode) -> dict[str, FragmentDetails]:
    fragments = fragment_map(document)
    if any(fragment.variable_definitions for fragment in fragments.values()):
        raise NoPlan("fragment variables")
    return {name: FragmentDetails(fragment, None) for name, fragment in fragments.items()}


def nodes_of(document: DocumentNode) -> Iterator[Node]:
    """Every node of the document, each once (a fragment where it is defined, not where spread)."""
    waiting: list[Any] = [document]
    while waiting:
        node = waiting.pop()
        if not isinstance(node, Node):
            continue
        yield node
        for key in node.keys:
            value = getattr(node, key, None)
            if isinstance(value, tuple | list):
                waiting.extend(value)
            elif isinstance(value, Node):
                waiting.append(value)


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables that @skip or @include read: a plan holds for one set of their values."""
    found = {
        argument.value.name.value
        for node in nodes_of(document) if isinstance(node, DirectiveNode)
        for argument in node.arguments or () if isinstance(argument.value, VariableNode)
    }
    return tuple(sorted(found))


def plan_parts(plan: Plan) -> tuple[int, int]:
    """(object type plans, field plans) in the plan: what its memory is estimated from."""
    types = fields = 0
    for type_plan in type_plans(plan):
        types += 1
        fields += len(type_plan.fields)
    return types, fields


def type_plans(plan: Plan) -> Iterator[TypePlan]:
    """Every object type plan of the plan, the root's first."""
    waiting = [plan.root]
    while waiting:
        type_plan = waiting.pop()
        yield type_plan
        for field in type_plan.fields:
            waiting.extend((field.children or {}).values())


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
        plans = []
        for key, details in grouped.items():
            if any(detail.fragment_variable_values is not None for detail in details):
                raise NoPlan("fragment variables")
            node = details[0].node
            name = node.name.value
            self.requested.setdefault(parent.name, set()).add(name)
            if name == "__typename":
                plans.append(FieldPlan(key, None, None, node, {}, {}, False, False, None, None))
                continue
            field = parent.fields.get(name)  # None for __schema and __type: introspection
            found = definition_of(field) if field is not None else None
            if field is None or found is None:
                raise NoPlan(f"field {parent.name}.{name}")
            definition, python_names = found
            is_list = isinstance(get_nullable_type(field.type), GraphQLList)
            named = get_named_type(field.type)
            children, serialize = None, None
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                children = {concrete.name: self.subfields(concrete, details) for concrete in self.concrete_types(named)}
            else:
                serialize = leaf_serializer(field.type)
            plan = FieldPlan(key, definition, field, node, python_names, None, is_list,
                             isinstance(named, GraphQLInterfaceType), serialize, children)
            static = self.static_arguments(field, node)
            plans.append(plan if static is None else replace(plan, static_arguments=plan.named(static)))
        return tuple(plans)

    def subfields(self, concrete: GraphQLObjectType, details: list[FieldDetails]) -> TypePlan:
        collected = collect_subfields(self.schema, self.fragments, self.variables, self.operation, concrete, details)
        if collected.new_defer_usages:
            raise NoPlan("@defer")
        return self.type_plan(concrete, collected.grouped_field_set)

    def concrete_types(self, named: GraphQLObjectType | GraphQLInterfaceType) -> list[GraphQLObjectType]:
        if isinstance(named, GraphQLObjectType):
            return [named]
        return list(self.schema.get_possible_types(named))

    def static_arguments(self, definition: GraphQLField, node: Any) -> dict[str, Any] | None:
        arguments: tuple[ArgumentNode, ...] = node.arguments or ()
        if any(_uses_variable(argument.value) for argument in arguments):
            return None
        return get_argument_values(definition, node, self.variables)


def _built_at_once(field: FieldPlan) -> bool:
    """A leaf made from its source alone: the builder makes it."""
    return field.children is None and not isinstance(field.definition, Batched)


def builder(type_name: str, fields: tuple[FieldPlan, ...]) -> Callable[[Any], dict[str, Any]]:
    """Generates the function that makes an object's dict from its source `s`: a dict display
    with an expression per leaf, each calling that field's own definition (`then`, `serialize`),
    reading columns by position where the sources are rows. For a thousand rows this is several
    times faster than setting each field of each object in turn. Keys are GraphQL names and
    attributes Python names (letters, digits, underscores), written with repr all the same."""
    namespace: dict[str, Any] = {}
    entries = []
    columns = columns_of(type_name)
    for index, field in enumerate(fields):
        if field.definition is None:
            value = repr(type_name)
        elif not _built_at_once(field):
            value = "None"
        else:
            assert isinstance(field.definition, Read)
            value = _read_expression(field.definition, columns, namespace, index)
            if field.serialize is bool:
                value = f"bool({value})"  # SQLite's plain rows say 0 or 1
            elif field.serialize is not None:
                namespace[f"z{index}"] = field.serialize
                value = f"z{index}({value})"
        entries.append(f"{field.key!r}: {value}")
    source = "def build(s):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<plan of {type_name}>", "exec"), namespace)
    # Taken out of its own globals: a plan holding a cycle would be freed, once evicted from
    # the cache, only by the collector's rare full pass.
    build: Callable[[Any], dict[str, Any]] = namespace.pop("build")
    return build


def _read_expression(definition: Read, columns: dict[str, int] | None, namespace: dict[str, Any], index: int) -> str:
    """`s`, `s[3]` or `s.name`, passed through the definition's `then` if it has one."""
    attribute = definition.attribute
    if attribute is None:
        value = "s"
    elif columns is not None and attribute in columns:
        value = f"s[{columns[attribute]}]"
    else:
        assert attribute.isidentifier(), attribute
        value = f"s.{attribute}"
    if definition.then is not None:
        namespace[f"t{index}"] = definition.then
        value = f"t{index}({value})"
    return value


def leaf_serializer(type_: GraphQLOutputType) -> Callable[[Any], Any] | None:
    """How a leaf's Python value becomes its JSON value, as the generic executor serializes it
    (None: the value is its JSON value)."""
    named = get_named_type(type_)
    one: Callable[[Any], Any]
    if isinstance(named, GraphQLEnumType):
        one = _enum_names(named)
    elif named is GraphQLBoolean or named.name == GraphQLBoolean.name:
        one = bool
    elif isinstance(named, GraphQLScalarType) and named.name not in AS_THEY_ARE:
        one = named.serialize
    else:
        return None
    nullable = get_nullable_type(type_)
    if isinstance(nullable, GraphQLList):
        return lambda values: None if values is None else [None if v is None else one(v) for v in values]
    if nullable is not type_:  # non-null: never None
        return one
    if one is bool:
        return lambda value: None if value is None else bool(value)
    return lambda value: None if value is None else one(value)


def _enum_names(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """An enum's GraphQL name from a stored value or a member of the Python enum."""
    names = {value.value: name for name, value in enum_type.values.items()}
    wrapped = getattr(enum_type, "wrapped_cls", None)  # Strawberry's: the Python enum (or, before, its definition)
    python_enum = getattr(wrapped, "wrapped_cls", wrapped)
    if isinstance(python_enum, type) and issubclass(python_enum, Enum):
        names.update((member, names[member.value]) for member in python_enum if member.value in names)

    def name_of(value: Any) -> Any:
        found = names.get(value)
        return found if found is not None else enum_type.serialize(value)

    return name_of


def _uses_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    items = getattr(value, "values", None) or ()
    fields = getattr(value, "fields", None) or ()
    return any(_uses_variable(item) for item in items) or any(_uses_variable(f.value) for f in fields)

