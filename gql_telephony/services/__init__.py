"""Use cases: each owns one transaction and publishes its event only after the commit."""
