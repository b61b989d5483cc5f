# The two commands: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint format db demo bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

db: install
	$(FLASK) db upgrade

demo: db
	$(FLASK) tracker demo

# The scheduler (reminders) runs beside the web app, as its own process, and stops with it.
run: demo
	@$(FLASK) tracker scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Two processes share the tests (each builds databases of its own; the tests that open
# hundreds of connections, or start processes of their own, stay together in one of them,
# --dist loadgroup). Test modules and plugins
# are compiled with pytest's assertions once, then kept in __pycache__ for the next run, even
# where the environment asks Python to write no bytecode.
test: lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 2 --dist loadgroup

# The full benchmark run (10k, 100k and 1 million enrolments, SQLite and PostgreSQL at
# 127.0.0.1:5432): builds and caches the data sets in bench/.data/ and PostgreSQL, measures
# /dashboard against /healthz with wrk (apt-get install wrk), idle and under a steady write
# load of claims and sign-ins (bench/writer.py), then writes BENCHMARKS.md.
# A tiny run of the same harness is part of `make test` (tests/test_bench_smoke.py).
bench: install
	$(BIN)/python -m bench.run --size 10k,100k,1m --db both

# Screenshots of the national dashboard, the public uptake page, a provider's cohort roster and
# a setting's cohort finder, whole, at 1280 and 320 px wide, of the demo data `make run`
# serves: written to screenshots/ (not committed). Needs Debian's Chromium (apt-get install
# chromium), driven as the browser tests drive it; nothing is downloaded.
screenshots: demo
	$(BIN)/python -m scripts.screenshots --out screenshots

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache screenshots
