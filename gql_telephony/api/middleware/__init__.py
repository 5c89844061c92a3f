"""ASGI middleware around the endpoint: body limit, rate limit, request log, metrics."""
