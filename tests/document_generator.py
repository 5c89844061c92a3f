"""A seeded generator of GraphQL query documents for the telephony schema, for differential tests.

Hand-written and schema-driven: fields come from the live schema (so a field added later is
generated too), argument values from a `World` of ids and cursors the test seeded. Most documents
are valid and cheap enough to run; some break on purpose (bad arguments, bad variables, faults
in the document, limits), because both execution paths must fail in the same way.

What a document may hold: random subsets of fields at every level, `__typename` anywhere,
aliases (the same field under several aliases with other arguments, and the same response key
selected twice so that the selections merge), named fragments (nested, reused, also across
operations), inline fragments with and without a type condition, `@skip`/`@include` with
literals and variables, arguments as literals and as variables (with and without declared
defaults, left out, null, of the wrong type), several operations with `operationName`,
introspection fields, and a few deliberately invalid documents.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    parse,
    parse_value,
    value_from_ast_untyped,
)

from gql_telephony.api.graph.documents import MAX_TOKENS, fragment_map

from .support import opaque_id

# The contract's limits: documents over them are kept only now and then (they must fail alike).
# The response size limit (gql_telephony/api/graph/limits.py) is not aimed at: about 1 document in
# 1,000 goes over it (a configuration's `config` under two pages), and both paths refuse it alike.
MAX_DEPTH = 10
MAX_ALIASES = 15
OVER_LIMIT_KEPT = 0.1


@dataclass
class World:
    """The values arguments are drawn from: the seeded data as the test's caller sees it."""

    config_ids: list[str]
    number_ids: list[str]
    foreign_ids: list[str] = field(default_factory=list)  # objects of another organization
    deleted_ids: list[str] = field(default_factory=list)  # objects that existed once
    config_cursors: list[str] = field(default_factory=list)
    number_cursors: list[str] = field(default_factory=list)


@dataclass
class Variable:
    name: str
    kind: str
    type_text: str
    default: str | None  # a GraphQL literal, or None without a default


@dataclass
class Fragment:
    name: str
    type_name: str
    depth: int  # the depth of its fields where it was written: reused no deeper
    text: str = ""
    variables: set[str] = field(default_factory=set)
    done: bool = False


@dataclass
class Document:
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    declared: list[Variable]

    def body(self, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables if variables is None else variables,
                "operationName": self.operation_name}


VARIABLE_REFERENCE = re.compile(r"\$(\w+)")
# Where an argument's values come from, by (field, argument).
ARGUMENT_KINDS = {
    ("telephonyConfigs", "first"): "first", ("telephonyConfigs", "after"): "config_after",
    ("phoneNumbers", "first"): "first", ("phoneNumbers", "after"): "number_after",
    ("phoneNumbers", "activeOnly"): "active_only",
    # Any cursor is one of the audit trail's: it starts after that id (the configs' make pages).
    ("auditEvents", "first"): "first", ("auditEvents", "after"): "config_after",
    ("telephonyConfig", "id"): "id", ("node", "id"): "id", ("nodes", "ids"): "ids",
    ("__type", "name"): "type_name",
    # Webhook endpoints' ids are not in the world: an endpointId names none (NOT_FOUND on both paths).
    ("webhookEndpoints", "first"): "first", ("webhookEndpoints", "after"): "config_after",
    ("webhookDeliveries", "first"): "first", ("webhookDeliveries", "after"): "config_after",
    ("webhookDeliveries", "endpointId"): "id",
}
# Declared types of variables by kind: (type, default literal or None), the first the commonest.
VARIABLE_TYPES: dict[str, list[tuple[str, str | None]]] = {
    "first": [("Int", None), ("Int!", None), ("Int", "3"), ("Int", "null"), ("Int!", "2")],
    "config_after": [("String", None), ("String", "null")],
    "number_after": [("String", None), ("String", "null")],
    "active_only": [("Boolean", None), ("Boolean", "true"), ("Boolean!", None)],
    "id": [("ID!", None), ("ID", "DEFAULT")],
    "ids": [("[ID!]!", None), ("[ID!]", "[]"), ("[ID!]!", '["a"]')],
    "flag": [("Boolean!", None), ("Boolean", "true"), ("Boolean", "false")],
    "type_name": [("String!", None)],
}
# A declaration the argument does not accept: the document is invalid.
WRONG_VARIABLE_TYPES = {
    "first": ["String", "Float", "Boolean"], "config_after": ["Int", "ID"], "number_after": ["Int"],
    "active_only": ["Int", "String"], "id": ["String!", "Int!", "ID"], "ids": ["ID!", "[String!]!", "[ID]!"],
    "flag": ["Boolean", "String!"], "type_name": ["ID!"],
}
QUERY_WEIGHTS = {
    "telephonyConfigs": 4.0, "telephonyConfig": 2.5, "node": 2.5, "nodes": 2.5,
    "defaultOutboundTelephonyConfig": 1.5, "telephonyConfigWarnings": 1.5, "telephonyProviders": 0.6,
}
TYPE_NAMES = ["TelephonyConfig", "PhoneNumber", "Node", "Query", "PageInfo", "NoSuchType", "TelephonyProviderKey"]
# Each `__type` has its own response key: two of them in one selection set would conflict.
INTROSPECTION = [
    "__schema { queryType { name } }",
    "__schema { queryType { name } mutationType { name } subscriptionType { name } }",
    '__type(name: "TelephonyConfig") { name kind fields { name type { name kind ofType { name kind } } } }',
    'nodeType: __type(name: "Node") { kind possibleTypes { name } }',
    'codes: __type(name: "TelephonyWarningCode") { enumValues { name } }',
    'missingType: __type(name: "NoSuchType") { name }',
]
# Well-formed ids whose key a PostgreSQL INTEGER cannot hold (decode_id takes up to 18 digits).
OUT_OF_RANGE_IDS = (opaque_id("PhoneNumber:2147483648"), opaque_id("TelephonyConfig:2147483648"), opaque_id("TelephonyConfig:" + "9" * 18))
FAULTS = [
    "unknown_field", "misspelled_field", "conflict", "unknown_argument", "undefined_variable",
    "unknown_fragment", "selection_on_leaf", "missing_selection", "unknown_directive",
    "directive_without_if", "missing_argument", "syntax", "duplicate_operation_name",
    "unused_variable", "unused_fragment",
]


class DocumentGenerator:
    """`document()` returns the next document; `revalue(document)` new variable values for it."""

    def __init__(self, schema: GraphQLSchema, world: World, rng: random.Random, *, fault_rate: float = 0.06,
                 bad_value_rate: float = 0.012, out_of_range: bool = True) -> None:
        self.schema = schema
        self.out_of_range = out_of_range  # also ids and cursors whose key is beyond 32 bits
        self.world = world
        self.rng = rng
        self.fault_rate = fault_rate
        self.bad_value_rate = bad_value_rate

    # ---- documents ---------------------------------------------------------------------------

    def document(self) -> Document:
        while True:
            document = self._document()
            if self._within_limits(document.query) or self.rng.random() < OVER_LIMIT_KEPT:
                return document

    def revalue(self, document: Document) -> dict[str, Any]:
        """Other values for the same declared variables (the same document, another request)."""
        values: dict[str, Any] = {}
        for variable in document.declared:
            self._value_into(values, variable)
        return values

    def _document(self) -> Document:
        self.fragments: list[Fragment] = []
        self.variables: dict[str, Variable] = {}
        self.values: dict[str, Any] = {}
        self.aliases: dict[tuple[str, str, str, int], str] = {}
        self.unaliased_arguments: dict[tuple[str, str], str] = {}
        self.inner_multipliers: dict[tuple[str, str, str], int] = {}
        self.scopes: list[set[str]] = []  # variable names used, per enclosing operation and fragment
        self.counter = 0
        self.fault = self.rng.choice(FAULTS) if self.rng.random() < self.fault_rate else None
        rng = self.rng

        count = 1 if rng.random() < 0.88 else rng.choice([2, 2, 3])
        names = [self._operation_name(i) for i in range(count)]
        if count == 1 and rng.random() < 0.4:
            names = [None]
        if self.fault == "duplicate_operation_name" and count > 1:
            names[1] = names[0]
            self.fault = None
        operations = [self._operation(name, alone=count == 1) for name in names]
        if self.fault == "unused_fragment":
            self.fragments.append(Fragment(name="Unused", type_name="PageInfo", depth=0,
                                           text="fragment Unused on PageInfo { hasNextPage }", done=True))
            self.fault = None
        definitions = operations + [fragment.text for fragment in self.fragments]
        rng.shuffle(definitions)
        query = rng.choice(["\n", "\n\n", " ", "\n# a comment\n"]).join(definitions)
        if self.fault == "syntax":
            query = self._break_syntax(query)
            self.fault = None

        named = [name for name in names if name]
        roll = rng.random()
        if count == 1:
            operation_name = names[0] if names[0] and roll < 0.6 else None
            if roll > 0.97:
                operation_name = "NoSuchOperation"
        elif roll < 0.88:
            operation_name = rng.choice(named)
        elif roll < 0.94:
            operation_name = None  # several operations and none named: refused
        else:
            operation_name = "NoSuchOperation"
        return Document(query, dict(self.values), operation_name, list(self.variables.values()))

    def _operation_name(self, index: int) -> str:
        return self.rng.choice(["Dashboard", "Q", "List", "Lookup", "get_things", "Node"]) + f"{index}x{self.rng.randrange(100)}"

    def _operation(self, name: str | None, *, alone: bool) -> str:
        scope: set[str] = set()
        self.scopes = [scope]
        selection = self._selection_set(self.schema.query_type, depth=0, multiplier=1)
        if self.fault == "unused_variable":
            variable = self._declare("flag")
            scope.add(variable.name)
            self.fault = None
        if self.fault == "undefined_variable":
            selection = selection[:-1] + " __typename @include(if: $notDeclared) }"
            self.fault = None
        self.scopes = []
        declarations = []
        for variable_name in sorted(scope, key=lambda _: self.rng.random()):
            variable = self.variables[variable_name]
            default = f" = {variable.default}" if variable.default is not None else ""
            declarations.append(f"${variable.name}: {variable.type_text}{default}")
        header = f"({', '.join(declarations)})" if declarations else ""
        if name is None and not declarations and alone and self.rng.random() < 0.5:
            return selection  # the shorthand form
        return f"query{' ' + name if name else ''}{header} {selection}"

    # ---- selections ----------------------------------------------------------------------------

    def _selection_set(self, parent: Any, depth: int, multiplier: int) -> str:
        """`{ ... }` for a value of `parent` (an object type or the Node interface) whose fields
        are at `depth`; `multiplier` is the product of the `first` of the enclosing connections."""
        rng = self.rng
        items: list[str] = []
        fields = parent.fields
        names = [name for name in fields if depth < 7 or is_leaf_type(get_named_type(fields[name].type))]
        if parent.name == "Query":
            weights = [QUERY_WEIGHTS.get(name, 1.0) for name in names]
            wanted = min(len(names), rng.choice([1, 1, 1, 2, 2, 3]))
            chosen: list[str] = []
            while len(chosen) < wanted:
                pick = rng.choices(names, weights)[0]
                if pick not in chosen:
                    chosen.append(pick)
        else:
            most = max(1, min(len(names), 5 - depth // 2))
            wanted = min(len(names), rng.choice([1, 2, 2, 3, 3, 4, most]), most)
            # Nested composite fields get rarer with depth; leaves keep the set non-empty.
            chosen = [name for name in rng.sample(names, len(names))
                      if is_leaf_type(get_named_type(fields[name].type)) or rng.random() < 0.75 - depth * 0.1][:wanted]
            if not chosen:
                leaves = [name for name in names if is_leaf_type(get_named_type(fields[name].type))]
                chosen = [leaves[0] if leaves else rng.choice(names)]  # Viewer holds objects only
        if rng.random() < 0.12:  # the same field again: other arguments (an alias) or a merge
            chosen.append(rng.choice(chosen))
        for name in chosen:
            items.append(self._field(parent, name, depth, multiplier))
        if rng.random() < 0.08:  # a merge: the same response key again with another selection
            items.append(self._field(parent, rng.choice(chosen), depth, multiplier, repeat=True))

        if rng.random() < 0.12:
            items.append(self._alias("__typename", parent.name, "") + "__typename" + self._directives(0.1))
        if depth == 0 and rng.random() < 0.05:
            items.append(rng.choice(INTROSPECTION))
        if depth == 0 and rng.random() < 0.03:
            items.append(self._type_by_variable())
        conditions = self._conditions(parent)
        if rng.random() < 0.1:
            condition = rng.choice([*conditions, None])
            target = self.schema.get_type(condition) if condition else parent
            on = f" on {condition}" if condition else ""
            items.append(f"...{on}{self._directives(0.3)} {self._selection_set(target, depth, multiplier)}")
        if isinstance(parent, GraphQLInterfaceType):
            for condition in ("TelephonyConfig", "PhoneNumber"):
                if rng.random() < 0.55:
                    target = self.schema.get_type(condition)
                    items.append(f"... on {condition}{self._directives(0.1)} {self._selection_set(target, depth, multiplier)}")
        if rng.random() < 0.1:
            items.append(self._spread(conditions, depth, multiplier))
        if self.fault and rng.random() < 0.15:
            items.append(self._fault_item(parent))

        rng.shuffle(items)
        return "{ " + rng.choice([" ", "\n", ", "]).join(items) + " }"

    def _conditions(self, parent: Any) -> list[str]:
        """Type conditions a fragment may have inside a selection of `parent`."""
        if parent.name == "Node":
            return ["Node", "TelephonyConfig", "PhoneNumber"]
        if isinstance(parent, GraphQLObjectType) and any(i.name == "Node" for i in parent.interfaces):
            return [parent.name, parent.name, "Node"]
        return [parent.name]

    def _field(self, parent: Any, name: str, depth: int, multiplier: int, *, repeat: bool = False) -> str:
        definition = parent.fields[name]
        key = (parent.name, name)
        if repeat and key in self.unaliased_arguments:
            # The same response key again, so that the two selections merge: the same arguments
            # (their variables declared here too), unaliased or under an alias already given.
            arguments = self.unaliased_arguments[key]
            inner = self.inner_multipliers.get((*key, arguments), multiplier)
            for variable_name in VARIABLE_REFERENCE.findall(arguments):
                for scope in self.scopes:
                    scope.add(variable_name)
            given = [a for (t, f, text, _), a in self.aliases.items() if (t, f, text) == (*key, arguments)]
            alias: str | None = f"{self.rng.choice(given)}: " if given and self.rng.random() < 0.5 else ""
        else:
            arguments, inner = self._arguments(name, definition, multiplier)
            self.inner_multipliers[(*key, arguments)] = inner
            alias = self._alias(name, parent.name, arguments)
        if alias is None:  # over the alias budget: something harmless instead, its variables undeclared
            for variable_name in VARIABLE_REFERENCE.findall(arguments):
                self.variables.pop(variable_name, None)
                self.values.pop(variable_name, None)
                for scope in self.scopes:
                    scope.discard(variable_name)
            return "__typename"
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            selection = ""
        elif self.rng.random() < 0.01:
            selection = " { }"  # graphql-core 3.3 accepts an empty selection set
        else:
            selection = " " + self._selection_set(named, depth + 1, inner)
        return f"{alias}{name}{arguments}{self._directives(0.06)}{selection}"

    def _alias(self, name: str, parent: str, arguments: str) -> str | None:
        """'' (no alias), 'alias: ', or None when the field needs an alias the budget cannot pay.
        One response key always means one field with one set of arguments in one type, so
        fields never conflict; an alias is needed only for arguments other than the first seen."""
        key = (parent, name)
        canonical = self.unaliased_arguments.setdefault(key, arguments)
        if canonical == arguments and self.rng.random() < 0.85:
            return ""
        variant = 0 if canonical != arguments else self.rng.choice([0, 1])
        alias_key = (parent, name, arguments, variant)
        if alias_key not in self.aliases:
            if len(self.aliases) >= 11:
                return None if canonical != arguments else ""
            self.aliases[alias_key] = f"{name.strip('_')}_{len(self.aliases)}"
        return f"{self.aliases[alias_key]}: "

    def _spread(self, conditions: list[str], depth: int, multiplier: int) -> str:
        rng = self.rng
        reusable = [f for f in self.fragments if f.done and f.type_name in conditions and f.depth >= depth]
        if reusable and rng.random() < 0.5:
            fragment = rng.choice(reusable)
            for scope in self.scopes:
                scope.update(fragment.variables)
        else:
            type_name = rng.choice(conditions)
            self.counter += 1
            fragment = Fragment(name=f"{type_name}Parts{self.counter}", type_name=type_name, depth=depth)
            self.fragments.append(fragment)
            self.scopes.append(fragment.variables)
            body = self._selection_set(self.schema.get_type(type_name), depth, multiplier)
            self.scopes.pop()
            for scope in self.scopes:
                scope.update(fragment.variables)
            fragment.text = f"fragment {fragment.name} on {type_name} {body}"
            fragment.done = True
        return f"...{fragment.name}{self._directives(0.15)}"

    def _directives(self, probability: float) -> str:
        rng = self.rng
        if rng.random() >= probability:
            return ""
        names = rng.choice([["skip"], ["include"], ["include"], ["skip", "include"], ["include", "skip"]])
        return "".join(f" @{name}(if: {self._argument_value('flag')})" for name in names)

    def _type_by_variable(self) -> str:
        self.counter += 1
        return f"type{self.counter}: __type(name: {self._argument_value('type_name')}) {{ name kind }}"

    # ---- arguments and variables ---------------------------------------------------------------

    def _arguments(self, name: str, definition: Any, multiplier: int) -> tuple[str, int]:
        """The argument list's text and the multiplier inside the field (for the cost)."""
        rng = self.rng
        parts = []
        is_connection = get_named_type(definition.type).name.endswith("Connection")
        inner = multiplier * 50 if is_connection else multiplier  # the default page size
        for argument_name, argument in definition.args.items():
            kind = ARGUMENT_KINDS.get((name, argument_name))
            if kind is None or not (is_non_null_type(argument.type) or rng.random() < (0.7 if kind == "first" else 0.35)):
                continue
            if kind == "first":
                text, first = self._first(multiplier)
                inner = multiplier * first
            else:
                text = self._argument_value(kind)
                if kind == "ids":  # `nodes` answers its selection once per id
                    inner = multiplier * self._id_count(text)
            parts.append(f"{argument_name}: {text}")
        rng.shuffle(parts)
        return (f"({', '.join(parts)})" if parts else ""), inner

    def _id_count(self, text: str) -> int:
        """The number of ids an `ids` argument gives, as the cost counts them (one for a single id)."""
        if text.startswith("$"):
            variable = self.variables[text[1:]]
            value = self.values.get(variable.name, ...)
            if value is ...:
                value = None if variable.default is None else value_from_ast_untyped(parse_value(variable.default))
        else:
            value = value_from_ast_untyped(parse_value(text))
        return len(value) if isinstance(value, list) else 1

    def _first(self, multiplier: int) -> tuple[str, int]:
        """A `first` whose cost keeps the document under the limit, save now and then."""
        rng = self.rng
        choices = [1, 1, 2, 2, 2, 3, 3, 5, 10, 50, 100, None]
        if rng.random() < 0.97:
            choices = [c for c in choices if multiplier * (c or 50) <= 2500] or [1]
        first = rng.choice(choices)
        if rng.random() < 0.025:
            first = rng.choice([0, -1, 101, 2**31 - 1])
        if rng.random() < 0.35:
            variable = self._declare("first", value=first)
            text = f"${variable.name}"
            first = self.values.get(variable.name, first)
            if variable.name not in self.values and variable.default not in (None, "null"):
                first = int(variable.default)
        else:
            text = "null" if first is None else str(first)
        effective = first if isinstance(first, int) and not isinstance(first, bool) and 1 <= first <= 100 else 50
        return text, effective

    def _argument_value(self, kind: str) -> str:
        """A literal, or `$name` of a new variable (declared by every enclosing scope)."""
        if self.rng.random() < 0.3:
            return f"${self._declare(kind).name}"
        return self._literal(kind)

    def _declare(self, kind: str, *, value: Any = ...) -> Variable:
        rng = self.rng
        self.counter += 1
        type_text, default = rng.choice(VARIABLE_TYPES[kind][:1] * 3 + VARIABLE_TYPES[kind])
        if rng.random() < self.bad_value_rate:
            type_text, default = rng.choice(WRONG_VARIABLE_TYPES[kind]), None
        if default == "DEFAULT":
            default = self._literal(kind, valid_only=True)
        variable = Variable(name=rng.choice(["v", "arg", "x", kind]) + str(self.counter), kind=kind,
                            type_text=type_text, default=default)
        self.variables[variable.name] = variable
        for scope in self.scopes:
            scope.add(variable.name)
        self._value_into(self.values, variable, value)
        return variable

    def _value_into(self, values: dict[str, Any], variable: Variable, value: Any = ...) -> None:
        """Puts the variable's value into `values`, or leaves it out (a default, or a null)."""
        rng = self.rng
        nullable = not variable.type_text.endswith("!")
        if (nullable or variable.default is not None) and rng.random() < 0.25:
            return  # left out: the declared default, or no value
        if rng.random() < self.bad_value_rate:
            values[variable.name] = rng.choice(
                [None, "3", 2.5, True, [], {"a": 1}, ["x", None], "sip:x", -(2**40)])
            return
        chosen = self._value(variable.kind) if value is ... else value
        if chosen is None and not nullable:
            chosen = {"first": 2, "active_only": False}.get(variable.kind, chosen)
        values[variable.name] = chosen

    # Values of each kind, as Python (for variables) -------------------------------------------

    def _value(self, kind: str) -> Any:
        rng = self.rng
        world = self.world
        if kind == "first":
            return rng.choice([1, 2, 3, 5, None])
        if kind in ("config_after", "number_after"):
            own, other = ((world.config_cursors, world.number_cursors) if kind == "config_after"
                          else (world.number_cursors, world.config_cursors))
            return rng.choices(
                [lambda: rng.choice(own) if own else None, lambda: rng.choice(other) if other else None,
                 lambda: None, self._garbage_cursor],
                [6, 1.5, 1, 1],
            )[0]()
        if kind == "active_only":
            return rng.choice([True, False, None])
        if kind == "id":
            return self._id()
        if kind == "ids":
            return [self._id() for _ in range(rng.choice([0, 1, 2, 2, 3, 4, 6]))]
        if kind == "flag":
            return rng.random() < 0.6
        if kind == "type_name":
            return rng.choice(TYPE_NAMES)
        raise AssertionError(kind)

    def _id(self) -> Any:
        rng = self.rng
        world = self.world
        pools: list[tuple[list[Any], float]] = [
            (world.config_ids, 5), (world.number_ids, 4), (world.foreign_ids, 1.5), (world.deleted_ids, 1),
            ([
                "", "nope", " ", "é", "x" * 101, opaque_id("TelephonyConfig:0"), opaque_id("TelephonyConfig:x"),
                opaque_id("TelephonyConfig:-1"), opaque_id("TelephonyConfig:" + "9" * 19), opaque_id("TelephonyConfig:2147483647"),
                opaque_id("Organization:1"), opaque_id("cursor:1"), opaque_id("PhoneNumber:"), opaque_id("PhoneNumber:1:2"),
                *(OUT_OF_RANGE_IDS if self.out_of_range else ()),
                opaque_id("TelephonyConfig:1") + "==", "VGVsZXBob255Q29uZmlnOjE=", 7,
            ], 1.2),
            (world.config_cursors, 0.3),
        ]
        pool = rng.choices([p for p, _ in pools if p], [w for p, w in pools if p])[0]
        return rng.choice(pool)

    def _garbage_cursor(self) -> str:
        return self.rng.choice([
            "", "abc", "!!!", opaque_id("cursor:x"), opaque_id("cursor:999999999"), opaque_id("cursor:0"), opaque_id("cursor:-3"),
            *((opaque_id("cursor:2147483648"),) if self.out_of_range else ()),
            opaque_id("TelephonyConfig:1"), opaque_id("cursor:" + "1" * 19), "Y3Vyc29yOjE=",
            *(self.world.config_ids[:1]),
        ])

    # Values of each kind, as GraphQL literals --------------------------------------------------

    def _literal(self, kind: str, *, valid_only: bool = False) -> str:
        rng = self.rng
        if not valid_only and rng.random() < self.bad_value_rate:
            return rng.choice({
                "first": ['"3"', "1.5", "true", "[1]"], "config_after": ["3", "true", "[\"a\"]"],
                "number_after": ["3", "{a: 1}"], "active_only": ["1", '"yes"', "TRUE"],
                "id": ["true", "1.5", "FOO", "null", '["a", "b"]'], "ids": ["[null]", "[1.5]", "null", "{id: 1}"],
                "flag": ['"true"', "1", "null"], "type_name": ["null", "1", "Node"],
            }[kind])
        return self._graphql_literal(self._value(kind))

    def _graphql_literal(self, value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            return json.dumps(value) if self.rng.random() < 0.9 or '"""' in value or "\\" in value else f'"""{value}"""'
        if isinstance(value, list):
            return "[" + self.rng.choice([", ", " ", ","]).join(self._graphql_literal(v) for v in value) + "]"
        raise AssertionError(value)

    # ---- faults and limits ---------------------------------------------------------------------

    def _fault_item(self, parent: Any) -> str:
        """One invalid selection for `parent`, for the pending fault (consumed)."""
        fault, self.fault = self.fault, None
        fields = parent.fields
        leaves = [n for n in fields if is_leaf_type(get_named_type(fields[n].type))]
        composites = [n for n in fields if n not in leaves]
        if fault in ("unknown_argument", "selection_on_leaf") and not leaves:
            leaves = ["__typename"]  # the Query type has no leaf of its own
        if fault == "unknown_field":
            return "bogusField"
        if fault == "misspelled_field":
            return self.rng.choice(list(fields))[:-1] + "x"
        if fault == "conflict" and len(leaves) >= 2:
            first, second = self.rng.sample(leaves, 2)
            return f"{first} {first}: {second}"
        if fault == "unknown_argument":
            return f"{self.rng.choice(leaves)}(bogus: 1)"
        if fault == "unknown_fragment":
            return "...NoSuchFragment"
        if fault == "selection_on_leaf":
            return f"{self.rng.choice(leaves)} {{ id }}"
        if fault == "missing_selection" and composites:
            return self.rng.choice(composites)
        if fault == "unknown_directive":
            return "__typename @cached"
        if fault == "directive_without_if":
            return "__typename @skip"
        if fault == "missing_argument":
            return "__type { name }"
        self.fault = fault  # not possible here: try another selection set
        return "__typename"

    def _break_syntax(self, query: str) -> str:
        rng = self.rng
        position = rng.randrange(1, len(query))
        return rng.choice([
            query[:position], query[:position] + "}" + query[position:], query[:position] + "(" + query[position:],
            query + " {", query.replace("{", "{ ...", 1), query[:position] + '"' + query[position:],
        ])

    def _within_limits(self, query: str) -> bool:
        """Under the token, depth and alias limits (a document that does not parse passes)."""
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return "tokens" not in error.message
        fragments = fragment_map(document)
        aliases = 0

        def measure(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
            nonlocal aliases
            depth = 0
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    aliases += selection.alias is not None
                    inner = measure(selection.selection_set, seen)
                    if selection.selection_set and not selection.name.value.startswith("__"):
                        depth = max(depth, 1 + inner)
                elif isinstance(selection, InlineFragmentNode):
                    depth = max(depth, measure(selection.selection_set, seen))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in fragments and name not in seen:
                        depth = max(depth, measure(fragments[name].selection_set, seen | {name}))
            return depth

        depths = [measure(d.selection_set, frozenset()) for d in document.definitions
                  if isinstance(d, OperationDefinitionNode)]
        return max(depths, default=0) <= MAX_DEPTH and aliases <= MAX_ALIASES
