# Every target creates/uses the local virtualenv by itself: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run run-16 test lint bench fuzz soak hil fw-demo models conformance deb deb-test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)          ## dev CSMS + simulated station + one charging session, until Ctrl-C
	$(BIN)/evse demo --config config/sim.yaml

run-16: $(STAMP)       ## the same session with the station and the dev CSMS speaking OCPP 1.6J
	$(BIN)/evse demo --config config/sim16.yaml

test: $(STAMP)         ## the whole test suite (what CI runs)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check evse drivers tests scripts bench hil
	$(BIN)/ruff format --check evse drivers tests scripts bench hil
	$(BIN)/mypy

bench: $(STAMP)        ## the figures quoted in issue notes
	PYTHONPATH=. $(BIN)/python bench/run.py  # the emulators (hil/) are test equipment, not installed

fuzz: $(STAMP)         ## 1,000,000 generated frames in process + 20,000 over the websocket, OCPP 2.0.1 then 1.6J; prints the summaries
	$(BIN)/python -m tests.fuzz.run --frames 1000000 --websocket-frames 20000 $(if $(SEED),--seed $(SEED))
	$(BIN)/python -m tests.fuzz.run --ocpp 1.6 --frames 1000000 --websocket-frames 20000 $(if $(SEED),--seed $(SEED))

soak: $(STAMP)         ## >= 200 SIGKILLs during charging sessions, CSMS on and off; prints the result
	$(BIN)/python -m hil.kill_soak --rounds 200

hil: $(STAMP)          ## one charging session through the real drivers against the emulated board
	$(BIN)/python -m hil.run_hil
	$(BIN)/python -m hil.run_pnc  # Plug & Charge through the emulated SECC, over CAN and over serial

fw-demo: $(STAMP)      ## a signed firmware update end to end on the simulated board (dev CSMS, loopback HTTP)
	$(BIN)/python -m hil.fw_demo

models: $(STAMP)       ## regenerate evse/ocpp/v201/ and v16/ messages.py and .pyi stubs from the official schemas
	$(BIN)/python scripts/gen_models.py
	$(BIN)/python scripts/gen_models_v16.py

conformance: $(STAMP)  ## regenerate docs/conformance.md from the test names
	$(BIN)/python scripts/conformance.py

# The Debian package (README "Installing the Debian package"). ARCH=amd64|arm64|armhf|all.
ARCH      ?= all
DEB_CACHE ?= /var/tmp/evse-deb
ARMHF_WHEELS = $(DEB_CACHE)/wheels-armhf
DEB_NEEDS_ARMHF = $(filter armhf all,$(ARCH))

$(ARMHF_WHEELS)/.built: | $(STAMP)  # cffi and PyYAML have no armv7l wheel on PyPI: built natively once, under qemu
	PYTHON=$(BIN)/python sh scripts/build_armhf_wheels.sh $(ARMHF_WHEELS)
	touch $@

deb: $(STAMP) $(if $(DEB_NEEDS_ARMHF),$(ARMHF_WHEELS)/.built)  ## dist/evse_<version>_<arch>.deb
	$(BIN)/python scripts/build_deb.py --arch $(ARCH) $(if $(DEB_NEEDS_ARMHF),--find-links $(ARMHF_WHEELS))

deb-test: $(STAMP)     ## the package tests, arm64/armhf under qemu-user too (root, mmdebstrap, qemu-user-static)
	EVSE_DEB_FOREIGN=1 $(BIN)/pytest -q tests/package

clean:
	rm -rf $(VENV) state build dist .pytest_cache .mypy_cache .ruff_cache
