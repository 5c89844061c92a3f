"""The GraphQL layer: maps types and calls services; holds no rules and writes no SQL."""
