"""Answers a query with a compiled plan when one covers it, or says it cannot (None).

Before a plan runs, the request passes the same gates as in the generic executor: the token
limit of the parser, Strawberry's validation with the schema's rules, variable coercion and the
contract's limits. A request that fails any of them, or whose plan raises, goes to the generic
executor, which gives the client its usual errors: the plan only ever answers requests that
would succeed, and answers them with the same data.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    specified_rules,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.schema import validate_document

from ...crypto import Vault
from ...services.reader import Reader
from ...services.tenancy import Principal
from ...storage.db import Database, retrying_disconnects
from ..graph.documents import chosen_operation, fragment_map, parse_document
from ..graph.limits import DocumentShapeLimits, check_operation
from .compiler import NoPlan, Plan, TypePlan, compile_plan, directive_variables
from .executor import execute_plan

logger = logging.getLogger("gql_telephony.plans")

MAX_DOCUMENTS = 500  # prepared documents kept, and plans kept, per process
TIMESTAMP_FIELDS = ("createdAt", "updatedAt")
MAX_KEPT_QUERY = 20_000  # characters: dashboards send small documents; larger ones are not kept
K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size, self._items = size, OrderedDict[K, V]()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class Prepared:
    """A document that parsed and validated, with what its operations need."""

    document: DocumentNode | None  # None: it did not parse or validate
    fragments: dict[str, FragmentDefinitionNode]
    directive_variables: tuple[str, ...]
    # Whether an operation without variables is within the limits, by operation name: it
    # cannot change from one request to the next.
    within_limits: dict[str | None, bool] = field(default_factory=dict)

    def checked(self, schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]) -> bool:
        """The contract's limits (page sizes, cursors, cost), as the request guard checks them."""
        if operation.variable_definitions:
            return not check_operation(schema, operation, self.fragments, variables)
        name = operation.name.value if operation.name else None
        if name not in self.within_limits:
            self.within_limits[name] = not check_operation(schema, operation, self.fragments, variables)
        return self.within_limits[name]

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run, chosen as every transport chooses it (None: the request is refused)."""
        assert self.document is not None
        return chosen_operation(self.document, name)


INVALID = Prepared(None, {}, ())
NO_PLAN = Plan(TypePlan("Query", (), dict, ()), {})  # cached for requests no plan covers


class PlanRunner:
    def __init__(self, schema: GraphQLSchema, db: Database, vault: Vault, *, production: bool) -> None:
        self.schema, self.db, self.vault = schema, db, vault
        rules = [*specified_rules, DocumentShapeLimits]
        if production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)  # in order: errors come in the order of the rules
        self.rule_set = frozenset(rules)
        self._documents: LRU[str, Prepared] = LRU(MAX_DOCUMENTS)
        self._plans: LRU[tuple[Any, ...], Plan] = LRU(MAX_DOCUMENTS)
        # Why plans gave up, by exception type: GraphQLError (an error the generic executor
        # words, such as a bad argument) is expected, anything else is a fault of a plan.
        self.gave_up: Counter[str] = Counter()

    async def run(
        self, principal: Principal, query: str, operation_name: str | None, raw_variables: dict[str, Any] | None
    ) -> tuple[OperationDefinitionNode, dict[str, Any]] | None:
        """The operation and its data, or None: the generic executor must answer."""
        try:
            return await self._run(principal, query, operation_name, raw_variables or {})
        except Exception as error:
            logger.debug("the generic executor answers instead of a plan: %s", type(error).__name__)
            self.gave_up[type(error).__name__] += 1
            return None

    async def _run(
        self, principal: Principal, query: str, operation_name: str | None, raw_variables: dict[str, Any]
    ) -> tuple[OperationDefinitionNode, dict[str, Any]] | None:
        prepared = self.prepare(query)
        operation = prepared.operation(operation_name) if prepared.document is not None else None
        if operation is None or len(query) > MAX_KEPT_QUERY:
            return None
        variables = get_variable_values(self.schema, operation.variable_definitions or (), raw_variables)
        if isinstance(variables, list):  # errors: the generic executor words them
            return None
        if not prepared.checked(self.schema, operation, raw_variables):
            return None
        plan = self._plan(prepared, query, operation, variables)
        if plan is None:
            return None

        async def read() -> dict[str, Any]:
            async with Reader.holding(
                self.db, principal.org_id, self.vault, principal=principal,
                config_timestamps=plan.asks("TelephonyConfig", *TIMESTAMP_FIELDS),
                number_timestamps=plan.asks("PhoneNumber", *TIMESTAMP_FIELDS),
            ) as reader:
                if plan.asks("Query", "telephonyConfigWarnings"):
                    # The summary needs every configuration: loaded first, they answer the rest.
                    await reader.all_configs()
                return await execute_plan(plan, reader, variables)

        return operation, await retrying_disconnects(read)

    def _plan(
        self, prepared: Prepared, query: str, operation: OperationDefinitionNode, variables: VariableValues
    ) -> Plan | None:
        """The plan for these directive values, compiled on first use (None: no plan covers it)."""
        key = (query, operation.name.value if operation.name else None,
               *(variables.coerced.get(name) for name in prepared.directive_variables))
        plan = self._plans.get(key)
        if plan is None:
            assert prepared.document is not None
            try:
                plan = compile_plan(self.schema, prepared.document, operation, variables)
            except NoPlan as reason:
                logger.debug("no plan: %s", reason)
                plan = NO_PLAN
            self._plans.put(key, plan)
        return None if plan is NO_PLAN else plan

    def prepare(self, query: str) -> Prepared:
        """The parsed and validated document (kept for small documents), or INVALID."""
        prepared = self._documents.get(query)
        if prepared is None:
            prepared = self._prepare(query)
            if len(query) <= MAX_KEPT_QUERY:
                self._documents.put(query, prepared)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        document = parse_document(query)  # the token limit of every transport
        if document is None or validate_document(self.schema, document, self.rules):
            return INVALID
        return Prepared(document, fragment_map(document), directive_variables(document))
