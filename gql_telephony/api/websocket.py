"""graphql-transport-ws: the per-socket subscription limit, with an error that names it."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from .errors import format_error
from .rate_limit import refused_over_socket

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


class TransportWSHandler(BaseGraphQLTransportWSHandler):  # type: ignore[type-arg]
    """Counts subscriptions only (Strawberry's own limit counts queries too and names no value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscription_ids: set[str] = set()

    async def handle_subscribe(self, message: Any) -> None:
        if await refused_over_socket(self, message):  # each operation is charged to the key
            return
        operation_id = message.get("id")
        payload = message.get("payload") or {}
        query = payload.get("query") if isinstance(payload, dict) else None
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
