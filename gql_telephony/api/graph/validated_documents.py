"""A document the plans have parsed and validated already is not parsed and validated again when
Strawberry executes it (mutations, and queries no plan covers): over HTTP the view prepares every
document before choosing how to run it, and validation is a walk of the whole document with
every rule, a large part of a small mutation's time. A document Strawberry parses itself has its
token chain unlinked as parse_document unlinks ours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import ASTValidationRule, DocumentNode
from strawberry.extensions import SchemaExtension

from .documents import unlink_tokens


@dataclass(frozen=True, slots=True)
class ValidatedDocument:
    """The text of a request's document, and that document, valid with these rules."""

    query: str
    document: DocumentNode
    rules: frozenset[type[ASTValidationRule]]


class ReuseValidatedDocument(SchemaExtension):
    """Hands Strawberry the validated document of the request's own text (a socket's context
    holds none: each of its operations is parsed and validated by Strawberry)."""

    def _validated(self) -> ValidatedDocument | None:
        context = self.execution_context
        validated = getattr(context.context, "validated", None)
        if isinstance(validated, ValidatedDocument) and validated.query == context.query:
            return validated
        return None

    def on_parse(self) -> Iterator[None]:
        validated = self._validated()
        if validated is not None:
            self.execution_context.graphql_document = validated.document
        yield
        # A document Strawberry parsed itself (a socket's operation) lives as long as its
        # subscription: unlinked like ours (documents.py), it is freed without the collector.
        document = self.execution_context.graphql_document
        if document is not None:
            unlink_tokens(document)

    def on_validate(self) -> Iterator[None]:
        validated = self._validated()
        context = self.execution_context
        # Only with the very rules Strawberry would apply: a rule added to the schema but not to
        # the plans' validation would otherwise be skipped without anyone noticing.
        if validated is not None and context.graphql_document is validated.document \
                and frozenset(context.validation_rules) == validated.rules:
            context.pre_execution_errors = []  # Strawberry validates only when it finds None
        yield
