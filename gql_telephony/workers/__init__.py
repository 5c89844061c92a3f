"""Background loops started by the app's lifespan; they claim work with leases in the database."""
