# Everything a fresh clone needs: `make demo` and `make test` create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := build/demo.db

.PHONY: install demo test lint eval bench docs clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@echo "compiling the name scorer's loops (numba, once per machine; cached beside the module)"
	$(BIN)/python -c 'from listwatch.matching.batch import warm_up; warm_up()'
	$(BIN)/python -c 'from listwatch.matching.candidates_kernel import warm_up; warm_up()'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p build && rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	LISTWATCH_DB=sqlite:///$(DEMO_DB) bash examples/demo.sh

# The web UI's browser tests drive Debian's Chromium (Playwright never downloads a browser).
chromium:
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -q && sudo apt-get install -y -q chromium; \
	  else echo "no /usr/bin/chromium and no root to apt-get it: the browser tests will be skipped"; fi; }

# The store, registry, screening and API suites run on SQLite and on PostgreSQL: a throwaway server
# from Debian's packages (tools/pg.sh installs them when missing), in a temporary directory on a
# loopback port, stopped afterwards whatever the tests do.
test: $(STAMP) chromium
	@pg=$$(mktemp -d); \
	trap 'tools/pg.sh stop "$$pg"' EXIT; trap 'exit 130' INT TERM; \
	url=$$(tools/pg.sh start "$$pg") || exit 1; \
	echo "PostgreSQL for the tests: $$url"; \
	LISTWATCH_TEST_PG=$$url $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/listwatch

eval: $(STAMP)
	$(BIN)/python eval/name_bench.py

# bench/scale.py runs small (20,000 synthetic entities, 2,000 queries); the issue's size:
# make bench SCALE="--entities 1000000 --queries 1000000 --partition-rows 20000 --subset 200000"
SCALE ?=
# The peers the benches run beside listwatch (nomenklatura, eventstudy) and Faker: the `bench` extra.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/screening.py
	$(BIN)/python bench/impact.py
	$(BIN)/python bench/formats.py
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/scale.py $(SCALE)

docs: $(STAMP)
	$(BIN)/python -m listwatch.docs > docs/cli.md

clean:
	rm -rf $(VENV) build .pytest_cache
