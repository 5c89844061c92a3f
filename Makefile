# Two commands for a newcomer: `make run` and `make test` (and `make lint` before a commit). Each
# installs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint schema contract clean

install: $(STAMP)

# Versions come from requirements.lock (exact pins); pyproject.toml holds the lower bounds.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[test]'
	touch $(STAMP)

# Pins what the current .venv holds (after a dependency change in pyproject.toml and `make install`):
# versions already pinned stay as they are.
.PHONY: lock
lock: install
	{ sed -n '1,2p' requirements.lock; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^gql.telephony'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# The newest releases that pyproject.toml allows, installed into a fresh virtualenv in a temporary
# directory (the .venv is left alone), pinned into requirements.lock with the same header. Then
# `make install` (the stamp is older than the lock) and `make test` before committing it.
.PHONY: upgrade-lock
upgrade-lock:
	set -e; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	$(PYTHON) -m venv "$$scratch/venv"; \
	"$$scratch/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$scratch/venv/bin/python" -m pip install --quiet --upgrade '.[test,bench]'; \
	{ sed -n '1,2p' requirements.lock; "$$scratch/venv/bin/python" -m pip freeze | grep -v '^gql.telephony'; } > requirements.lock.new; \
	mv requirements.lock.new requirements.lock

run: install
	$(BIN)/gql-telephony serve --demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade) on the code, benchmark, tools and tests, and
# mypy --strict on the code: pyproject.toml.
lint: install
	$(BIN)/ruff check gql_telephony bench tests tools
	$(BIN)/mypy

# GraphiQL's scripts and styles, vendored from npm at the versions Strawberry's page pins (needs npm
# and the registry; the server itself never fetches them): tools/vendor_graphiql.py.
.PHONY: graphiql-assets
graphiql-assets: install
	$(BIN)/python tools/vendor_graphiql.py

# The dashboard's libraries (Preact with htm, graphql-ws), vendored from npm at the versions the
# script pins (needs npm and the registry; the server never fetches them): tools/vendor_dashboard.py.
.PHONY: dashboard-assets
dashboard-assets: install
	$(BIN)/python tools/vendor_dashboard.py

schema: install
	$(BIN)/gql-telephony export-schema > schema.graphql

# The schema against the shared contract, where a workspace has one beside the project; a clone
# has none (the API is documented in docs/API.md), so the target says so and succeeds.
CONTRACT_CHECK := ../shared/contract/check.py

contract:
	@if [ ! -f $(CONTRACT_CHECK) ]; then \
		echo "make contract: $(CONTRACT_CHECK) is not here (a clone has no shared contract), so there is nothing to check; the API is documented in docs/API.md."; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory install && $(BIN)/python $(CONTRACT_CHECK) schema.graphql

# The benchmark of issues 15 and 16 (docs/PERFORMANCE.md): dashboard reads against the raw and the
# denormalized floors on SQLite and PostgreSQL, writes and a bulk import against the same by hand,
# subscription fan-out on one process and across four through Redis, and memory over 20,000
# distinct queries; each figure against its goal, all together at the end. About 30 minutes with
# the defaults; options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--shape 25x40 --no-postgres".
# `make bench-quick` (or BENCH_ARGS=--quick) runs every part very briefly: it checks that the
# benchmark still runs, not its figures (tests/test_bench_quick.py runs it too).
.PHONY: bench bench-quick
BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[test,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

bench-quick: install $(BENCH_STAMP)
	$(BIN)/python -m bench.dashboard --quick $(BENCH_ARGS)

# Provider checks per second in one server process, against a fake Twilio in a process of its own
# (docs/PERFORMANCE.md, "Provider checks"): about 4 minutes with the defaults; options in BENCH_ARGS,
# e.g. make bench-checks BENCH_ARGS="--batch 4 16 --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres".
.PHONY: bench-checks
bench-checks: install $(BENCH_STAMP)
	$(BIN)/python -m bench.provider_checks $(BENCH_ARGS)

# Webhook deliveries per second from one server process to a local receiver, and the write latency
# the audit trail and the outbox add (docs/PERFORMANCE.md, "Webhooks"): about a minute with the
# defaults; options in BENCH_ARGS, e.g. make bench-webhooks BENCH_ARGS="--database-url postgresql+asyncpg://postgres@127.0.0.1/postgres".
.PHONY: bench-webhooks
bench-webhooks: install $(BENCH_STAMP)
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
