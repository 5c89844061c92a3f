"""Storage: tables, engines and sessions, read queries, migrations. It never commits."""
