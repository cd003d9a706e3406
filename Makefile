# Set up a fresh machine, run the demo, run the tests. See README.md.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# System packages need root: use sudo when we are not root already.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system test-system demo watch test test-fast lint bench clean

setup: system $(VENV)/.installed

# Debian packages: Mosquitto (the embedded broker of `brain run`, the broker the tests
# start), espeak-ng (the speaker's voice), alsa-utils (aplay, to play it) and
# libportaudio2 (the microphone, through sounddevice).
SYSTEM_PACKAGES := mosquitto espeak-ng alsa-utils libportaudio2
# The tests also drive the browser node's page in a real headless Chromium, and scrape the
# metrics node with a real Prometheus server.
TEST_PACKAGES := chromium prometheus
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; fi
endef
system:
	$(call apt_install,$(SYSTEM_PACKAGES))

test-system:
	$(call apt_install,$(TEST_PACKAGES))

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[cortex,faces,edge,openvino,dev]'
	touch $@

# The main job in small (`brain demo`): a family member enrolled from a sample photo,
# the camera playing photos of her and of a stranger, the cortex telling them apart,
# the speaker saying so; the embedded broker when none runs. Watch with `make watch`.
demo: setup
	$(BIN)/brain --log-format console demo

watch: setup
	$(BIN)/brain watch

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy examples/plugins  # the example plugins, as a plugin author would check theirs
	$(BIN)/lint-imports  # the layout's walls: pyproject.toml, [tool.importlinter]

# Two workers, a test file each at a time: while one waits on a broker, a process or
# Chromium, the other computes. More would only add memory (each loads TensorFlow).
test: lint test-system
	$(BIN)/pytest -n 2 --dist loadfile

# What a developer runs after each edit: the tests that start nothing real (see
# tests/conftest.py); `make test` runs them all, on real brokers, processes and models.
test-fast: setup
	$(BIN)/pytest -m "not slow" -q

bench: setup test-system
	$(BIN)/python -m benchmarks.bus
	$(BIN)/python -m benchmarks.alerts
	$(BIN)/python -m benchmarks.camera
	$(BIN)/python -m benchmarks.cortex
	$(BIN)/python -m benchmarks.browser
	$(BIN)/python -m benchmarks.edge
	$(BIN)/python -m benchmarks.runtimes
	$(BIN)/python -m benchmarks.recorder
	$(BIN)/python -m benchmarks.identity
	$(BIN)/python -m benchmarks.people
	$(BIN)/python -m benchmarks.visits
	$(BIN)/python -m benchmarks.faults

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
