"""Answers a query with a compiled plan when one covers it, or says it cannot (None).

Before a plan runs, the request passes the same gates as in the generic executor: the token
limit of the parser, Strawberry's validation with the schema's rules, variable coercion and the
contract's limits. A request that fails any of them, or whose plan raises, goes to the generic
executor, which gives the client its usual errors: the plan only ever answers requests that
would succeed, and answers them with the same data.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

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
from ...services.reader import Reader, SnapshotNeeded
from ...services.tenancy import Principal
from ...storage.db import Database, retrying_disconnects
from ..graph.documents import chosen_operation, fragment_map, parse_document
from ..graph.limits import DocumentShapeLimits, check_operation_noting
from ..memory_bound import DOCUMENTS_ONLY_MB, MemoryBound, document_bytes, plan_bytes
from .compiler import NoPlan, Plan, TypePlan, compile_plan, directive_variables, nodes_of, plan_parts
from .executor import execute_plan
from .first_read import pages_wanted

logger = logging.getLogger("gql_telephony.plans")

TIMESTAMP_FIELDS = ("createdAt", "updatedAt")
MAX_KEPT_QUERY = 20_000  # characters: dashboards send small documents; larger ones are not kept
@dataclass(frozen=True)
class Prepared:
    """A document that parsed and validated, with what its operations need."""

    document: DocumentNode | None  # None: it did not parse or validate
    fragments: dict[str, FragmentDefinitionNode]
    directive_variables: tuple[str, ...]
    nodes: int = 0  # the document's nodes: what its memory is estimated from
    # Whether an operation is within the limits, by operation name, once known not to depend on
    # its variables (no argument the limits read holds one): it cannot change from one request
    # to the next.
    within_limits: dict[str | None, bool] = field(default_factory=dict)

    def checked(self, schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]) -> bool:
        """The contract's limits (page sizes, cursors, cost), as the request guard checks them."""
        name = operation.name.value if operation.name else None
        known = self.within_limits.get(name)
        if known is not None:
            return known
        refusals, read_variables = check_operation_noting(schema, operation, self.fragments, variables)
        if not read_variables:
            self.within_limits[name] = not refusals
        return not refusals

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run, chosen as every transport chooses it (None: the request is refused)."""
        assert self.document is not None
        return chosen_operation(self.document, name)


INVALID = Prepared(None, {}, ())
NO_PLAN = Plan(TypePlan("Query", (), dict, ()), {})  # cached for requests no plan covers


class PlanRunner:
    def __init__(self, schema: GraphQLSchema, db: Database, vault: Vault, *, production: bool,
                 bound: MemoryBound | None = None) -> None:
        self.schema, self.db, self.vault = schema, db, vault
        rules = [*specified_rules, DocumentShapeLimits]
        if production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)  # in order: errors come in the order of the rules
        self.rule_set = frozenset(rules)
        # Kept within the process's one bound for everything kept per document, with the responses.
        bound = bound if bound is not None else MemoryBound(DOCUMENTS_ONLY_MB * 2**20)
        self._documents = bound.shelf("documents", on_drop=self._drop_plans_of)
        self._plans = bound.shelf("plans", on_drop=self._forget_plan)
        # The keys of the plans kept for each document kept: a plan holds nodes of its document,
        # so they go when the document goes (the document, touched first, is never the newer).
        self._plan_keys: dict[str, set[tuple[Any, ...]]] = {}
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

        summary = plan.asks("Query", "telephonyConfigWarnings")
        pages = pages_wanted(self.schema, plan, variables) if summary else None

        async def read(snapshot: bool) -> dict[str, Any]:
            async with Reader.holding(
                self.db, principal.org_id, self.vault, principal=principal,
                config_timestamps=plan.asks("TelephonyConfig", *TIMESTAMP_FIELDS),
                number_timestamps=plan.asks("PhoneNumber", *TIMESTAMP_FIELDS),
                snapshot=snapshot, pages=pages,
            ) as reader:
                if summary:
                    # The summary needs every configuration: loaded first, they answer the rest.
                    await reader.all_configs()
                data = await execute_plan(plan, reader, variables)
            if snapshot and not self.db.is_sqlite:  # (a run without one shows nothing new)
                plan.learned.ran(statements=reader.statements)
            return data

        # On PostgreSQL, a read that one statement answers needs no transaction: its BEGIN and
        # ROLLBACK were two of a dashboard's six round trips. A plan runs without one unless one
        # of its last runs needed more than one statement (SQLite's BEGIN costs no round trip).
        if self.db.is_sqlite or plan.learned.misses:
            data = await retrying_disconnects(partial(read, True))
        else:
            try:
                data = await retrying_disconnects(partial(read, False))
            except SnapshotNeeded:
                plan.learned.needed_more()
                data = await retrying_disconnects(partial(read, True))
        return operation, data

    def _plan(
        self, prepared: Prepared, query: str, operation: OperationDefinitionNode, variables: VariableValues
    ) -> Plan | None:
        """The plan for these directive values, compiled on first use (None: no plan covers it)."""
        key = (query, operation.name.value if operation.name else None,
               *(variables.coerced.get(name) for name in prepared.directive_variables))
        plan: Plan | None = self._plans.get(key)
        if plan is None:
            assert prepared.document is not None
            try:
                plan = compile_plan(self.schema, prepared.document, operation, variables)
            except NoPlan as reason:
                logger.debug("no plan: %s", reason)
                plan = NO_PLAN
            types, fields = plan_parts(plan) if plan is not NO_PLAN else (0, 0)
            if query in self._plan_keys and self._plans.put(key, plan, plan_bytes(key, types, fields)):
                kept = self._plan_keys.get(query)
                if kept is None:  # its document went to make room for it: it goes too
                    self._plans.remove(key)
                else:
                    kept.add(key)
        return None if plan is NO_PLAN else plan

    def prepare(self, query: str) -> Prepared:
        """The parsed and validated document (kept for small documents), or INVALID."""
        prepared: Prepared | None = self._documents.get(query)
        if prepared is None:
            prepared = self._prepare(query)
            if len(query) <= MAX_KEPT_QUERY:
                if self._documents.put(query, prepared, document_bytes(query, prepared.nodes)):
                    self._plan_keys.setdefault(query, set())
        return prepared

    def _drop_plans_of(self, query: str) -> None:
        for key in self._plan_keys.pop(query, ()):
            self._plans.remove(key)

    def _forget_plan(self, key: tuple[Any, ...]) -> None:
        keys = self._plan_keys.get(key[0])
        if keys is not None:
            keys.discard(key)

    def _prepare(self, query: str) -> Prepared:
        document = parse_document(query)  # the token limit of every transport
        if document is None or validate_document(self.schema, document, self.rules):
            return INVALID
        nodes = sum(1 for _ in nodes_of(document))
        return Prepared(document, fragment_map(document), directive_variables(document), nodes=nodes)
