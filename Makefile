# Meldwijzer. The two commands a new developer needs: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: run test setup setup-test check train validate test-unit test-stories test-e2e nlu-report teams-package bench

run: setup check train
	@scripts/run.sh

test: setup-test check train
	$(PY) -m pytest

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

check: setup
	$(PY) -m bot check

train: setup
	@scripts/train.sh

validate: setup
	.venv/bin/rasa data validate --fail-on-warnings

nlu-report: setup
	$(PY) -m bot nlu-report

teams-package: setup
	$(PY) scripts/teams_package.py

bench: setup train
	$(PY) benchmarks/run.py
