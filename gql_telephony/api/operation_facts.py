"""A schema extension that notes, for the request's log line, which operation ran: its name
(a GraphQL name from the document, never a value) and its type."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from .request_log import request_facts

MAX_NAME_LENGTH = 100


class NoteOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._note()

    def _note(self) -> None:
        context = self.execution_context
        facts = request_facts(getattr(getattr(context.context, "request", None), "scope", None))
        document = context.graphql_document
        if facts is None or document is None:
            return
        wanted = context.operation_name
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        operation = next((o for o in operations if wanted is None or (o.name and o.name.value == wanted)), None)
        if operation is None:
            return
        facts.operation_type = operation.operation.value
        facts.operation_name = operation.name.value[:MAX_NAME_LENGTH] if operation.name else None
