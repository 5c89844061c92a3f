"""The schema: roots, the guard that runs before execution, and error logging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from .context import Context
from .documents import MAX_TOKENS, choose_operation, coded_error, fragment_map
from .errors import log_errors, make_safe_for_clients
from .extension_hooks import ExtensionHooks
from .limits import DocumentShapeLimits, check_operation
from .mutations import Mutation
from .operation_facts import NoteOperation
from .queries import Query
from .shared_events import SharingExecutor, reads_only_its_event
from .subscriptions import Subscription
from .types import PhoneNumberType, TelephonyConfigType
from .validated_documents import ReuseValidatedDocument


class RequestGuard(SchemaExtension):
    """Refuses, before any resolver runs, a mutation with a read-only key, a request whose
    operation cannot be chosen, and a document whose arguments break the limits (page sizes,
    cursors, cost)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if isinstance(context.context, Context):
            context.context.renew_reads()  # nothing cached by an earlier operation on this socket
        errors = self._refusals(context)
        if errors:
            context.result = GraphQLExecutionResult(data=None, errors=errors)
        yield

    @staticmethod
    def _refusals(context: ExecutionContext) -> list[GraphQLError]:
        document = context.graphql_document
        principal = getattr(context.context, "principal", None)
        if document is None:
            return []
        # The name the request gave, as the transports read it (they refuse first): Strawberry's
        # `operation_name` falls back to the first operation's, and runs the first of several.
        operation = choose_operation(document, context._provided_operation_name)
        if isinstance(operation, str):
            return [coded_error(operation, "BAD_REQUEST")]
        if context.operation_type is OperationType.MUTATION and principal is not None and principal.read_only:
            return [coded_error("This API key is read-only: it cannot run mutations.", "FORBIDDEN")]
        return check_operation(context.schema._schema, operation, fragment_map(document), context.variables)


class TelephonySchema(strawberry.Schema):
    def __init__(self, *args: Any, production: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suggestions = not production
        if reads_only_its_event(self._schema):  # each event executed once per document (shared_events.py)
            self.execution_context_class = SharingExecutor

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return ExtensionHooks(execution_context, extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Every error of every transport passes here: faults are logged, then all are rewritten
        so that none repeats a value of the request, or an internal detail."""
        log_errors(errors)
        make_safe_for_clients(errors, suggestions=self.suggestions)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    # A mutation sent by POST runs without these, api/http/direct_mutations.py doing their work:
    # a new one must be added there too (its STANDS_IN_FOR, which a test compares with these).
    extensions: list[Any] = [  # extension classes, and factories of extensions
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every fragment spread again
        # (exponential time on spreads of spreads) and the former fails on an unknown fragment.
        lambda: AddValidationRules([DocumentShapeLimits]),
        ReuseValidatedDocument,
        RequestGuard,
        NoteOperation,
    ]
    if production:
        from strawberry.extensions import DisableIntrospection  # noqa: PLC0415 - production alone needs it

        extensions.append(DisableIntrospection)
    return TelephonySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[TelephonyConfigType, PhoneNumberType],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        production=production,
    )
