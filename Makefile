# The front door: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test fuzz up bench chaos lint clean image

$(BIN)/flask: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/flask

## The whole system in one process: embedded PostgreSQL, StubBroker, worker threads, console
## channels, on http://127.0.0.1:$(PORT) (`make run PORT=5050` when 5000 is taken).
PORT ?= 5000
run: install
	env -u BROKER_URL $(BIN)/flask --app web dev --port $(PORT)

## The test suite against the local PostgreSQL and RabbitMQ.
test: install
	$(BIN)/pytest

## Longer property-based fuzzing of the API from its OpenAPI document (schemathesis, signed
## requests, every check), on fresh random seeds; make test runs 300 cases of the same test.
FUZZ_EXAMPLES ?= 2500
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(BIN)/pytest -q -s tests/web/test_openapi_fuzz.py

## The real deployment's processes (Procfile) against local RabbitMQ and PostgreSQL.
up: install
	$(BIN)/flask --app web db upgrade
	$(BIN)/honcho start

## Benchmarks (bench/README.md): one table, figures in bench/results/. BENCH_SCALE=full for
## the issue's sizes (~1.5 h); the default quick scale fits in 20 minutes on 2 cores.
BENCH_SCALE ?= quick
bench/.venv-celery/bin/celery: bench/celery_peer/requirements.txt
	$(PYTHON) -m venv bench/.venv-celery
	bench/.venv-celery/bin/pip install --quiet -r bench/celery_peer/requirements.txt
	touch $@

bench: install bench/.venv-celery/bin/celery
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run --scale $(BENCH_SCALE)

## The fault scenarios' long versions (tests/faults: 2,000-reminder batches, 10 SIGKILLs,
## RabbitMQ away 30 s, PostgreSQL away 60 s), each printing messages, lost, duplicates and
## the time to drain after the fault; make test runs their short versions.
chaos: install
	CHAOS=long $(BIN)/pytest -q -s -p no:randomly tests/faults/test_scenarios.py

## The container image with podman, on a base made from Debian packages (.ci/build-image;
## the base tarball is cached in .cache/image/); tests/k8s/test_image.py runs each Procfile
## process in it.
image:
	.ci/build-image

lint: install
	$(BIN)/ruff check actors web scheduler db fakes tests

clean:
	rm -rf $(VENV) instance *.egg-info
