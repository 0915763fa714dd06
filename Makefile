# linespeed: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo
DEMO_DB := sqlite:///$(DEMO_DIR)/linespeed.db
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
MQTT_URL ?= mqtt://127.0.0.1:1883
NATS_URL ?= nats://127.0.0.1:4222

.PHONY: demo test check lint typecheck pytest faults mosquitto chromium bench clean

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
DEMO_MORE ?= 2000
LS := $(BIN)/linespeed
demo: $(BIN)/linespeed
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@echo "== the bundled plant, loaded into a new SQLite simulation store; its line first reports units only"
	$(LS) plant check src/linespeed/plant/default.yaml
	$(LS) init --simulation --tracking units --db $(DEMO_DB)
	@echo "== start of production to car $(DEMO_UNITS): every car started, scrapped, completed, shipped"
	$(LS) simulate --until-units $(DEMO_UNITS) --detail units --into-db --db $(DEMO_DB) --json > $(DEMO_DIR)/history.json
	@cat $(DEMO_DIR)/history.json
	@echo "== station tracking goes live: the next $(DEMO_MORE) cars report every station, part and check"
	$(LS) init --db $(DEMO_DB)
	$(LS) simulate --until-units $$(($(DEMO_UNITS) + $(DEMO_MORE))) --after-units $(DEMO_UNITS) --into-db --db $(DEMO_DB) --json > $(DEMO_DIR)/live.json
	@cat $(DEMO_DIR)/live.json
	@echo "== milestones reached"
	$(LS) milestones --db $(DEMO_DB)
	@echo "== the ramp against Tesla Model 3 and the 300,000-in-15-months pace; picture in $(DEMO_DIR)/ramp.png"
	$(LS) ramp --db $(DEMO_DB) --reference tesla-model-3 --reference pace-300k-15m --plot $(DEMO_DIR)/ramp.png
	@echo "== the line since station tracking went live: KPIs and the bottleneck"
	$(LS) kpi --db $(DEMO_DB) --since $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DIR)/live.json'))['first_event_at'])")
	@echo "== the production plan the simulation stored, and the parts: on hand, days of cover at the planned rate, which runs out first"
	$(LS) plan list --db $(DEMO_DB)
	$(LS) stock --db $(DEMO_DB) | head -12
	@echo "== the last car of the run, station by station"
	$(LS) unit --db $(DEMO_DB) $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DIR)/live.json'))['last_completed_vin'])") | head -12
	@echo "== recall: every car holding the brake-caliper lot of that last car, where it is now; file in $(DEMO_DIR)/recall.csv"
	$(LS) trace vin --db $(DEMO_DB) --json $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DIR)/live.json'))['last_completed_vin'])") > $(DEMO_DIR)/last-car.json
	$(LS) trace part --db $(DEMO_DB) --csv $(DEMO_DIR)/recall.csv $$($(BIN)/python -c "import json; p = next(p for p in json.load(open('$(DEMO_DIR)/last-car.json'))['parts'] if p['part'].startswith('BRK-')); print(p['part'], '--lot', p['lot'])") | tail -2
	@echo "== a file of bad events: each refused with its reason, nothing else changed"
	$(LS) ingest --db $(DEMO_DB) $(EXAMPLES)/example-bad-events.jsonl
	$(LS) deadletters --db $(DEMO_DB)
	@echo "== what if ga-140 failed as rarely as the other stations (every 50 h for 8 min)? car 400,000, 8 runs each with common random numbers, the engine alone"
	$(LS) whatif --until-units 400000 --runs 8 --set failures.stations.ga-140.mtbf_h=50 --set failures.stations.ga-140.mttr_min=8 --compare src/linespeed/sim/default-scenario.yaml

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench docs/cli_reference.py
	$(BIN)/ruff format --check src tests bench docs/cli_reference.py

# bench/ apart: read together with the rest, bench/nats.py would stand for the `nats` library.
typecheck: $(VENV)/.dev
	$(BIN)/mypy --strict src/ tests/ docs/
	$(BIN)/mypy --strict bench/

# Service tests read these; they are set only when the service answers on this machine.
port_open = $(shell python3 -c "import socket; s = socket.socket(); s.settimeout(1); print('yes' if s.connect_ex(('127.0.0.1', $(1))) == 0 else '')")
ifneq ($(call port_open,5432),)
export LINESPEED_TEST_PG_URL ?= $(PG_URL)
endif
ifneq ($(call port_open,1883),)
export LINESPEED_TEST_MQTT_URL ?= $(MQTT_URL)
endif
ifneq ($(call port_open,4222),)
export LINESPEED_TEST_NATS_URL ?= $(NATS_URL)
endif

# The MQTT fault tests start (and restart) brokers of their own.
mosquitto:
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || \
		($$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
		 $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -qq mosquitto)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || \
		($$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
		 $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -qq chromium)

pytest: $(VENV)/.dev mosquitto chromium
	$(BIN)/pytest -q

# Only the fault tests (also part of `make test`): killed ingests, bridges and brokers.
faults: $(VENV)/.dev mosquitto
	$(BIN)/pytest -q tests/faults tests/mqtt

test: lint typecheck pytest

# The fast loop while working (under a minute): lint, types, and the tests marked neither
# `slow` nor `service`. `make test` runs them all and is what CI runs.
check: lint typecheck
	$(BIN)/pytest -q -m "not slow and not service"

bench: $(VENV)/.dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/sim.py
	$(BIN)/python bench/supply.py
	$(BIN)/python bench/whatif.py
	$(BIN)/python bench/demo.py
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache .pytest_cache
