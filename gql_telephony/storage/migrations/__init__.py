"""Alembic migrations: the one way the database schema is made."""
