"""Transports: the HTTP view and its negotiation, the WebSocket, GraphiQL, JSON and the response cache."""
