"""graphql-transport-ws: malformed messages refused with 4400, a revoked key's socket closed
with 4403, the per-socket subscription limit with an error that names it."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any, cast

from graphql import GraphQLError, GraphQLFormattedError, OperationDefinitionNode, OperationType
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage

from ..graph.context import Context
from ..graph.documents import choose_operation, coded_error, parse_document
from ..graph.errors import INTERNAL_MESSAGE, format_error
from ..graph.shared_events import next_message_text
from ..middleware.rate_limit import refused_over_socket
from .ws_messages import fit_close_reason, malformed

logger = logging.getLogger("gql_telephony.websocket")

MAX_SUBSCRIPTIONS_PER_SOCKET = 100


def chosen_for_socket(payload: dict[str, Any]) -> OperationDefinitionNode | str | None:
    """The operation a `subscribe` message runs, or why none can run (chosen as over HTTP);
    None when its document does not parse: Strawberry then closes the socket (4400), as the
    protocol asks, with the same token limit."""
    document = parse_document(payload["query"])
    return None if document is None else choose_operation(document, payload.get("operationName"))


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, for frames no client should send: JSON nested too deeply to parse
    is not JSON (4400, not a crash), and a close reason is cut to fit its frame (a longer one
    makes the server drop the connection without a close frame)."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        try:
            async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
                yield message
        except RecursionError as error:
            raise NonJsonMessageReceived from error

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state is not WebSocketState.DISCONNECTED:  # closed once only
            await super().close(code, fit_close_reason(reason))

    async def send_json(self, message: Any) -> None:
        if self.ws.application_state is WebSocketState.DISCONNECTED:  # closed by a revocation meanwhile
            raise WebSocketDisconnected
        text = next_message_text(message)  # an event's data, encoded once for all its subscribers
        if text is None:
            await super().send_json(message)
            return
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as error:  # as Strawberry's send_json says it
            raise WebSocketDisconnected from error


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Checks each message's shape before Strawberry reads it; checks the key before each
    operation; counts subscriptions only (Strawberry's own limit counts queries too and names
    no value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscription_ids: set[str] = set()
        self._watched_key: int | None = None  # the key id this socket is registered under

    async def handle_message(self, message: Any) -> None:
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {**message, "payload": {}}  # the protocol allows null: no key, so 4401
        await super().handle_message(message)

    async def handle_subscribe(self, message: Any) -> None:
        # Charged first, so that an operation over the limit costs no database lookup.
        if await refused_over_socket(self, message):  # each operation is charged to the key
            return
        if not await self._key_still_valid(message["id"]):
            return
        if self.connection_acknowledged and message["id"] not in self.operations:  # else Strawberry closes it
            if not await self._may_start(message["id"], message["payload"]):
                return
        await super().handle_subscribe(message)

    async def _may_start(self, operation_id: str, payload: dict[str, Any]) -> bool:
        """The operation is chosen as over HTTP, refused when it cannot be (Strawberry would run
        the first of several); a subscription counts against the socket's limit."""
        operation = chosen_for_socket(payload)
        if isinstance(operation, str):
            await self._refuse(operation_id, coded_error(operation, "BAD_REQUEST"))
            return False
        if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
            return True
        self._subscription_ids &= set(self.operations)  # forget finished ones
        if len(self._subscription_ids) >= MAX_SUBSCRIPTIONS_PER_SOCKET:
            await self._refuse(operation_id, coded_error(
                f"At most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions may run on one WebSocket: "
                "complete one before starting another, or open another socket.",
                "SUBSCRIPTION_LIMIT", limit=MAX_SUBSCRIPTIONS_PER_SOCKET,
            ))
            return False
        self._subscription_ids.add(operation_id)
        return True

    async def _refuse(self, operation_id: str, error: GraphQLError) -> None:
        """The protocol's `error` message for one operation: the socket stays open."""
        formatted = cast("GraphQLFormattedError", format_error(error))  # that shape, built as a plain dict
        await self.send_message(ErrorMessage(id=operation_id, type="error", payload=[formatted]))

    # -- API key revocation: the key is checked again before each operation, and the socket is
    # closed with 4403 when api/key_watch.py finds the key revoked or deleted.

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        principal = self.context.principal
        if self.connection_acknowledged and principal is not None and self._watched_key is None:
            self._watched_key = principal.key_id
            self.context.runtime.key_watch.watch(principal.key_id, self)

    async def shutdown(self) -> None:
        if self._watched_key is not None:
            self.context.runtime.key_watch.forget(self._watched_key, self)
        await super().shutdown()

    async def close_revoked(self) -> None:
        # Operations first: cancelled, none of them sends on the closed socket.
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self.websocket.close(code=4403, reason="Forbidden: the API key was revoked")

    async def _key_still_valid(self, operation_id: str) -> bool:
        """The key, checked as an HTTP request checks it (one lookup), before an operation runs."""
        if self._watched_key is None:
            return True  # not acknowledged: Strawberry closes with 4401
        runtime = self.context.runtime
        try:
            live = await runtime.key_watch.checks.is_live(self._watched_key)
        except Exception as error:  # the database is away: refuse this operation, keep the socket
            logger.warning("could not check a WebSocket's API key: %s", type(error).__name__)
            await self._refuse(operation_id, coded_error(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"))
            return False
        if not live:
            await self.close_revoked()
            return False
        runtime.key_usage.note(self._watched_key)
        return True
