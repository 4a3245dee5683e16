# Impact Warehouse: every target bootstraps its own environment from the lock file.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

.PHONY: install demo test validate dagster clean lock

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	cd dbt_project && DBT_PROFILES_DIR=../dbt_profiles ../$(BIN)/dbt parse --quiet
	@touch $(STAMP)

demo: install
	$(BIN)/impact demo

test: install
	$(BIN)/python -m pytest

# Monte Carlo of the estimators on sandbox organisations (minutes; not part of `make test`)
validate: install
	$(BIN)/python scripts/validate_did.py --processes 2 --out validation/results.json

dagster: install
	mkdir -p .dagster && { test -f .dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > .dagster/dagster.yaml; }
	DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/dagster dev

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf warehouse reports .dagster dbt_project/target dbt_project/logs
