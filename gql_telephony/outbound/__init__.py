"""Clients of the outside world: one module per provider API, and the HTTP client they share."""
