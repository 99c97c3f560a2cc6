# The two commands from the README: `make demo` and `make test`. Both build .venv on first use.
# `make demo PORT=8001 HOST=0.0.0.0` serves the demo elsewhere.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test contract lint format clean check-wheel

install: $(STAMP)

$(STAMP): pyproject.toml examples/store/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e examples/store
	touch $(STAMP)

demo: install
	$(BIN)/kinsave demo --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests examples
	$(BIN)/ruff check --fix src tests examples

# The browser tests drive Debian's Chromium; CI runs as root, so install it when it is missing
# (with a CJK font, so Chinese pages render in the screenshots).
test: install lint contract
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium fonts-wqy-zenhei)
	$(BIN)/python -m pytest -m "not contract"
	scripts/check_wheel.sh $(BIN)/python

# The API contract (issue 16): the document's own assertions and schemathesis over the whole API
# with the three kinds of credential, stateful phase on, both databases. A fixed time budget: a
# run that exceeds it fails (124) like a finding does.
CONTRACT_SECONDS ?= 300
contract: install
	timeout $(CONTRACT_SECONDS) $(BIN)/python -m pytest -m contract -q

# Build the sdists and wheels, install them in a fresh venv, run migrate/serve/demo from it.
check-wheel: install
	scripts/check_wheel.sh $(BIN)/python

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache kinsave.db* kinsave-store.db*
