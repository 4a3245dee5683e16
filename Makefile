# Impact Warehouse: every target bootstraps its own environment from the lock file.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
# Spark has its own environment: pyspark breaks great_expectations in .venv (spark/README.md).
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed

.PHONY: install demo test validate dagster clean lock bench bench-quick test-spark lock-spark

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

$(SPARK_STAMP): requirements-spark.lock
	@test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	@$(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(SPARK_VENV)/bin/uv pip install --python $(SPARK_VENV)/bin/python --require-hashes -r requirements-spark.lock
	@touch $(SPARK_STAMP)

# The dbt project on Apache Spark (PySpark local mode, needs Java 17): the `small` sandbox organisation
# built on Spark and on DuckDB must hold the same rows in every model and seed (tests/spark).
test-spark: install $(SPARK_STAMP)
	IMPACT_SPARK_TESTS=1 $(SPARK_VENV)/bin/python -m pytest tests/spark --confcutdir=tests/spark -p no:cacheprovider

# Benchmarks side by side with peers (ccusage, csdid, differences); writes bench/results.json and
# bench/results.md. Not part of `make test`. ARGS passes options through, e.g. ARGS=--parts=api.
bench: install
	$(BIN)/python -m bench $(ARGS)

bench-quick: install
	$(BIN)/python -m bench --quick $(ARGS)

# Monte Carlo of the estimators on sandbox organisations (minutes; not part of `make test`)
validate: install
	$(BIN)/python scripts/validate_did.py --processes 2 --out validation/results.json

# `dg dev` (dagster-dg-cli; the project is described under [tool.dg] in pyproject.toml) is what Dagster 1.13
# recommends over the superseded `dagster dev`, and it starts with no warning (tests/unit/test_dagster_warnings.py).
# VIRTUAL_ENV says the project's .venv is the one in use, as activating it would (dg warns otherwise).
dagster: install
	mkdir -p .dagster && { test -f .dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > .dagster/dagster.yaml; }
	DAGSTER_HOME=$(CURDIR)/.dagster VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --generate-hashes -o requirements.lock

lock-spark:
	$(BIN)/uv pip compile spark/requirements.in --python-version 3.11 --generate-hashes -o requirements-spark.lock

clean:
	rm -rf warehouse reports .dagster dbt_project/target dbt_project/logs
