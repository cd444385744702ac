# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck pytest soak wiring image image-test clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP) $@

## Start the controller in simulation on http://127.0.0.1:8000 (demo layout, ./var/ database)
run: $(STAMP)
	$(BIN)/locker serve --simulate --config config/locker.example.toml

## Lint, type-check and run the whole test suite
test: lint typecheck pytest

lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TSTAMP)
	$(BIN)/mypy locker api firmware_bridge tests tools

pytest: $(TSTAMP)
	tools/ensure-debian-packages.sh mosquitto:mosquitto mosquitto_passwd:mosquitto chromium:chromium systemd-analyze:systemd espeak-ng:espeak-ng fusermount3:fuse3
	$(BIN)/pytest -q

## The reliability tests at 10x their sizes (tests/reliability/scale.py), and the image test
soak: $(TSTAMP)
	tools/ensure-debian-packages.sh mosquitto:mosquitto mosquitto_passwd:mosquitto chromium:chromium espeak-ng:espeak-ng fusermount3:fuse3 $(IMAGE_PACKAGES)
	LOCKER_SOAK=10 LOCKER_IMAGE_TEST=1 $(BIN)/pytest -q -s -p no:cacheprovider --durations=0 tests/reliability tests/test_image.py

## The container image, built with podman on a Debian base made with debootstrap (docs/container.md)
IMAGE_PACKAGES := podman:podman debootstrap:debootstrap runc:runc
image: $(TSTAMP)
	tools/ensure-debian-packages.sh $(IMAGE_PACKAGES)
	$(BIN)/python -m tools.image all

## Build the image and run it: healthy, a delivery, non-root, read-only, a clean stop
image-test: $(TSTAMP)
	tools/ensure-debian-packages.sh $(IMAGE_PACKAGES)
	LOCKER_IMAGE_TEST=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/test_image.py

## Redraw docs/wiring.svg from the example layout (a test checks it is up to date)
wiring: $(STAMP)
	$(BIN)/python -m tools.wiring_svg config/locker.example.toml docs/wiring.svg

## Benchmarks of the real service on this machine: a table, and var/bench/results.json
bench: $(TSTAMP)
	tools/ensure-debian-packages.sh mosquitto:mosquitto taskset:util-linux espeak-ng:espeak-ng
	$(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
