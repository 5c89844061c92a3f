"""A mutation run by graphql-core's executor itself, without Strawberry's per-request wrapper.

Strawberry's `Schema.execute` builds an execution context and runs the hooks of the schema's
five extensions around graphql-core's `execute` for every request: for a single write, about a
tenth of the server's CPU (docs/PERFORMANCE.md, "Round 6: single writes"). A mutation whose
document the plans have parsed and validated (api/plans/runner.py, `Prepared`: the token limit
and the schema's validation rules) goes to graphql-core's `execute` here, on the schema that
Strawberry built, so its resolvers, argument conversion, results and errors are Strawberry's
own. What the extensions do besides is done here first:

- RequestGuard: the operation's reads are renewed; a read-only key, or arguments over the
  contract's limits, go to Strawberry instead, which refuses them with its usual errors (no
  resolver has run);
- NoteOperation: the request's log line gets the operation's type and name;
- and every error passes through the schema's `process_errors` (logged, made safe), as on every
  other path.
The view sends only POST requests here: over GET, Strawberry refuses a mutation (405).
A new schema extension must be looked at here too: STANDS_IN_FOR lists the ones this covers
(the prepared document covers the first three and DisableIntrospection's rule), and a test
compares it with the schema's.
"""

from __future__ import annotations

from inspect import isawaitable
from typing import Any, cast

import strawberry
from graphql import GraphQLError, OperationDefinitionNode, OperationType, execute
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult

from ..graph.context import Context
from ..graph.operation_facts import describe, note_operation
from ..plans.runner import Prepared

STANDS_IN_FOR = frozenset({"MaxTokensLimiter", "AddValidationRules", "ReuseValidatedDocument", "RequestGuard",
                           "NoteOperation", "DisableIntrospection"})


async def execute_mutation(
    schema: strawberry.Schema, prepared: Prepared, context: Context, operation_name: str | None,
    variables: dict[str, Any] | None,
) -> ExecutionResult | None:
    """The mutation's result, or None: Strawberry must run it (nothing has run yet)."""
    document = prepared.document
    operation = prepared.operation(operation_name) if document is not None else None
    principal = context.principal
    if document is None or not isinstance(operation, OperationDefinitionNode) \
            or operation.operation is not OperationType.MUTATION or principal is None or principal.read_only:
        return None
    raw_variables = variables or {}
    if not prepared.checked(schema._schema, operation, raw_variables):
        return None
    context.renew_reads()
    note_operation(context.request, *describe(operation))
    try:
        result = execute(
            schema._schema, document, context_value=context, variable_values=raw_variables,
            operation_name=operation_name, is_awaitable=cast(Any, optimized_is_awaitable),
            executor_class=schema.execution_context_class, operation_extensions=None,
        )
        if isawaitable(result):
            result = await result
    except Exception as error:  # as Strawberry's own execute: an error of the request, not a crash
        errors = [GraphQLError(str(error), original_error=error)]
        schema.process_errors(errors)
        return ExecutionResult(data=None, errors=errors)
    if result.errors:
        schema.process_errors(result.errors)
    return ExecutionResult(data=result.data, errors=result.errors)
