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
DEMO_UNITS ?= 300000
demo: $(BIN)/linespeed
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== the bundled plant, loaded into a new SQLite store"
	$(BIN)/linespeed plant check src/linespeed/plant/default.yaml
	$(BIN)/linespeed init --db $(DEMO_DB)
	@echo "== start of production to car $(DEMO_UNITS): the simulated line's every event, validated and stored"
	$(BIN)/linespeed simulate --until-units $(DEMO_UNITS) --into-db --db $(DEMO_DB) --json > $(DEMO_DIR)/simulate.json
	@cat $(DEMO_DIR)/simulate.json
	@echo "== the car that completed last: number $(DEMO_UNITS)"
	$(BIN)/linespeed unit --db $(DEMO_DB) $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DIR)/simulate.json'))['last_completed_vin'])") | head -12
	@echo "== a file of bad events: each refused with its reason, nothing else changed"
	$(BIN)/linespeed ingest --db $(DEMO_DB) $(EXAMPLES)/example-bad-events.jsonl
	$(BIN)/linespeed deadletters --db $(DEMO_DB)

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
	$(BIN)/python bench/sim.py
	$(BIN)/python bench/demo.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache .pytest_cache
