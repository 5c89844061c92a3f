"""Background loops started by the app's lifespan; they claim work with leases in the database."""

# The name prefix of every task a background loop runs (the loops themselves, their wake-ups and
# the work they start): what a check for tasks left behind by requests leaves out.
BACKGROUND = "background: "
