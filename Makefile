# linespeed: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo
DEMO_DB := sqlite:///$(DEMO_DIR)/linespeed.db
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
MQTT_URL ?= mqtt://127.0.0.1:1883

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/linespeed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/linespeed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

EXAMPLES := src/linespeed/data
demo: $(BIN)/linespeed
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== load the bundled default plant into a new SQLite store"
	$(BIN)/linespeed init --db $(DEMO_DB)
	$(BIN)/linespeed plant check src/linespeed/plant/default.yaml
	@echo "== ingest a shift of line events, then a file of bad ones"
	$(BIN)/linespeed ingest --db $(DEMO_DB) $(EXAMPLES)/example-events.jsonl $(EXAMPLES)/example-bad-events.jsonl
	@echo "== the same files again: nothing new is stored"
	$(BIN)/linespeed ingest --db $(DEMO_DB) --json $(EXAMPLES)/example-events.jsonl
	@echo "== what happened to the first car"
	$(BIN)/linespeed unit --db $(DEMO_DB) LSPA1S7E8SB000001
	@echo "== refused events, each with its reason"
	$(BIN)/linespeed deadletters --db $(DEMO_DB)
	@echo "== projections rebuilt from the event log alone"
	$(BIN)/linespeed rebuild --db $(DEMO_DB)

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy --strict src/

pytest: $(VENV)/.dev
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.dev
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache .pytest_cache
