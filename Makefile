# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test test-citus lint format openapi clean fuzz lock

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	$(BIN)/pip check --disable-pip-version-check
	@touch $(STAMP)

install: $(STAMP)

## make run: install, migrate the embedded database, load the demo organization, serve
run: install
	$(BIN)/python -m service migrate
	$(BIN)/python -m service demo
	$(BIN)/python -m service serve --host $(HOST) --port $(PORT)

## make test: install, lint, run the whole suite on SQLite and on PostgreSQL, and the
## request-path tests through PgBouncer (tests/run_suites.py)
test: install
	$(BIN)/python -m tests.run_suites

## make test-citus: the suite on a real three-node Citus cluster (tests/run_citus.py): starts it
## with CITUS_CLUSTER_SCRIPT (default ../shared/citus/cluster.sh), migrates and distributes,
## runs the Citus subset of the suite against the coordinator (ARGS=tests: all of it)
test-citus: install
	$(BIN)/python -m tests.run_citus $(ARGS)

lint: install
	$(BIN)/ruff format --check service tests migrations bench tools
	$(BIN)/ruff check service tests migrations bench tools
	$(BIN)/mypy

format: install
	$(BIN)/ruff format service tests migrations bench tools
	$(BIN)/ruff check --fix service tests migrations bench tools

## make fuzz: the API fuzzers (REST, stateful, GraphQL) with many more examples than the
## suite's run and fresh randomness: FUZZ_EXAMPLES per operation, FUZZ_DB sqlite or postgresql
FUZZ_EXAMPLES ?= 100
FUZZ_DB       ?= sqlite
fuzz: install
	FUZZ_RANDOM=1 FUZZ_MAX_EXAMPLES=$(FUZZ_EXAMPLES) TEST_DB=$(FUZZ_DB) \
		$(BIN)/python -m pytest tests/fuzz -p no:cacheprovider -q

## make lock: regenerate the hashed locks from the ranges in pyproject.toml (tools/locks.py):
## requirements.lock (the image) and requirements-dev.lock (make), the second pinned like the first
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --generate-hashes --no-strip-extras --python-version 3.11 --quiet
lock: install
	$(UV_COMPILE) --extra otel -o requirements.lock
	$(UV_COMPILE) --extra otel --extra test -c requirements.lock -o requirements-dev.lock
	$(BIN)/python tools/locks.py

## regenerate openapi/openapi.json and openapi/schema.graphql from the app
openapi: install
	$(BIN)/python -m service export-schemas

clean:
	rm -rf $(VENV) data
