"""graphql-transport-ws: malformed messages refused with 4400, the per-socket subscription
limit with an error that names it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from .errors import format_error
from .ws_messages import fit_close_reason, malformed

MAX_SUBSCRIPTIONS_PER_SOCKET = 100


def is_subscription(query: object) -> bool:
    if not isinstance(query, str):
        return False
    try:
        document = parse(query, max_tokens=2000)
    except GraphQLError:
        return False
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.SUBSCRIPTION
        for d in document.definitions
    )


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


class TransportWSHandler(BaseGraphQLTransportWSHandler):  # type: ignore[type-arg]
    """Checks each message's shape before Strawberry reads it; counts subscriptions only
    (Strawberry's own limit counts queries too and names no value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscription_ids: set[str] = set()

    async def handle_message(self, message: Any) -> None:
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {**message, "payload": {}}  # the protocol allows null: no key, so 4403
        await super().handle_message(message)

    async def handle_subscribe(self, message: Any) -> None:
        operation_id = message["id"]
        query = message["payload"]["query"]
        if self.connection_acknowledged and operation_id not in self.operations and is_subscription(query):
            self._subscription_ids &= set(self.operations)  # forget finished ones
            if len(self._subscription_ids) >= MAX_SUBSCRIPTIONS_PER_SOCKET:
                error = GraphQLError(
                    f"At most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions may run on one WebSocket: "
                    "complete one before starting another, or open another socket.",
                    extensions={"code": "SUBSCRIPTION_LIMIT", "limit": MAX_SUBSCRIPTIONS_PER_SOCKET},
                )
                await self.send_message({"id": operation_id, "type": "error", "payload": [format_error(error)]})
                return
            self._subscription_ids.add(operation_id)
        await super().handle_subscribe(message)
