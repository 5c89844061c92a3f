"""A schema extension that notes, for the request's log line, which operation ran: its name
(a GraphQL name from the document, never a value) and its type."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from ..middleware.request_log import request_facts
from .documents import chosen_operation

MAX_NAME_LENGTH = 100


class NoteOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._note()

    def _note(self) -> None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return
        operation = chosen_operation(document, context.operation_name)
        if operation is not None:
            note_operation(getattr(context.context, "request", None), *describe(operation))


def describe(operation: OperationDefinitionNode) -> tuple[str, str | None]:
    """The operation's type and name, as the log line shows them."""
    return operation.operation.value, operation.name.value[:MAX_NAME_LENGTH] if operation.name else None


def note_operation(request: object, operation_type: str, operation_name: str | None) -> None:
    facts = request_facts(getattr(request, "scope", None))
    if facts is not None:
        facts.operation_type, facts.operation_name = operation_type, operation_name
