"""GraphQL requests as every transport reads them (HTTP, WebSocket, the compiled plans, the
schema's own guard): one token limit for parsing, one rule for choosing the operation to run,
fragments by name, the API key a request presents, and the shape of an error refused before
GraphQL runs. A transport that read any of these its own way would answer the same request
differently from the others."""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import ExecutionResult

# -- Parsing ------------------------------------------------------------------------------------

# Tokens a document may hold: parsing stops there, so a huge document costs little to refuse.
MAX_TOKENS = 2000


def parse_document(query: object) -> DocumentNode | None:
    """The document, or None when there is none or it does not parse within MAX_TOKENS (the
    executor, which parses with the same limit, then tells the client why)."""
    if not isinstance(query, str) or not query:
        return None
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    unlink_tokens(document)
    return document


def unlink_tokens(document: DocumentNode) -> None:
    """Breaks the chain graphql-core links a document's tokens into, both ways. Linked, every
    document is a cycle: one cached long enough to grow old is freed, once evicted, only by the
    collector's rare full pass (20,000 documents through the cache grew a process by 300 MiB
    between two). A node's location keeps its first and last token, and the offsets and source
    an error's line and column come from; nothing reads the chain after parsing."""
    token = document.loc.start_token if document.loc else None
    while token is not None:
        following = token.next
        token.prev = token.next = None
        token = following


# -- Choosing the operation ---------------------------------------------------------------------

SEVERAL_OPERATIONS = "The document holds several operations: name the one to run in operationName."
NO_OPERATION = "The document holds no operation to run."
UNKNOWN_OPERATION = "No operation in the document has the name given in operationName."


def choose_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | str:
    """The operation to run, or why none can run (a message for the client). Without an
    operationName the document must hold exactly one operation: Strawberry would run the first
    of several, which the client may not have meant."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) > 1:
            return SEVERAL_OPERATIONS
        return operations[0] if operations else NO_OPERATION
    named = (o for o in operations if o.name is not None and o.name.value == operation_name)
    return next(named, UNKNOWN_OPERATION)


def chosen_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation choose_operation picks, or None where it refuses."""
    chosen = choose_operation(document, operation_name)
    return None if isinstance(chosen, str) else chosen


# -- Fragments ----------------------------------------------------------------------------------


def fragment_map(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragments by name (of two with one name, validation refuses the document)."""
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def is_introspection_only(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """An operation that asks only for __schema, __type or __typename."""
    fragments = fragment_map(document)
    # Each fragment is judged once: a fragment spread many times costs nothing more.
    judged: dict[str, bool] = {}

    def only_meta(selection_set: SelectionSetNode) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_meta(selection.selection_set):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in judged:
                    judged[name] = False  # unknown or cyclic: not introspection
                    if name in fragments:
                        judged[name] = only_meta(fragments[name].selection_set)
                if not judged[name]:
                    return False
        return True

    return only_meta(operation.selection_set)


# -- The API key a request presents -------------------------------------------------------------


def bearer_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer KEY` header (the scheme in any case), or None."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


# -- Errors refused before GraphQL runs ---------------------------------------------------------
# Every error a client sees has this shape: a message, and extensions holding at least a code.


def coded_error(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def request_error(message: str, code: str) -> ExecutionResult:
    """A request refused before execution: no data, one error."""
    return ExecutionResult(data=None, errors=[coded_error(message, code)])


def error_entry(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """One error as a response lists it, for answers written without GraphQL (middleware)."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A whole response body of one error, for answers written without GraphQL."""
    return {"errors": [error_entry(message, code, **extensions)]}
