"""Alembic environment: runs on a connection handed over by gql_telephony.storage.migrate."""

from alembic import context

from gql_telephony.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
