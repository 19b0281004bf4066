# Meldwijzer. The two commands a new developer needs: `make run` and `make test`; `make help` lists the rest.
SHELL := /bin/bash
PY := .venv/bin/python
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# A school's server never phones home: Rasa's usage telemetry is off for every command run from here.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help run test test-fast lint setup setup-dev setup-test check train validate nlu-report nlu-eval teams-package bench \
        bench-load

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: setup check train ## set up what is missing, train if the data changed, start both servers
	@scripts/run.sh

test: setup-test lint check train ## everything: lint, unit, actions, Rasa validation, conversations, end-to-end
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15

test-fast: lint ## lint, unit and action tests only: no trained model, no servers (while you work)
	$(PY) -m pytest -m "not model" -q -n 2

setup: ## Python 3.10 venv with the pinned dependencies and the Dutch spaCy model
	@scripts/setup.sh

setup-dev: ## setup, plus the lint tools
	@scripts/setup.sh --dev

setup-test: ## setup, plus the lint tools and the browser for the web tests
	@scripts/setup.sh --test

lint: setup-dev ## ruff (lint and format check) and mypy (config in pyproject.toml; strict on the pure core)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

check: setup ## validate knowledge/ (schema, sources, quotes, references)
	$(PY) -m bot check

train: setup ## train the model once per data fingerprint (models/meldwijzer.tar.gz), fill the retrieval caches
	@scripts/train.sh
	@$(PY) -m bot build-index

validate: setup ## rasa data validate, warnings as errors
	.venv/bin/rasa data validate --fail-on-warnings

nlu-report: setup ## 5-fold cross-validation, intent F1 per intent (a report, not a test)
	$(PY) -m bot nlu-report

nlu-eval: setup train ## intent F1 (5-fold CV), held-out accuracy with/without retrieval, calibration (a report)
	$(PY) -m bot nlu-eval

teams-package: setup ## the Teams app zip for an admin to upload (docs/TEAMS.md)
	$(PY) scripts/teams_package.py

bench: setup train ## benchmarks with figures against a baseline
	$(PY) benchmarks/run.py
	$(PY) benchmarks/model_load.py

bench-load: setup train ## Meldwijzer against a stock `rasa init` bot under 10 and 50 concurrent users
	$(PY) benchmarks/load.py
