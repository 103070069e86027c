# Two commands for a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The pinned sources are read from a local mirror first when there is one (CI and the
# developers' machines have ../shared/data/mirror); otherwise they are downloaded and verified.
MIRROR := $(abspath ../shared/data/mirror)
export GEO_APP_DATA_MIRROR ?= $(if $(wildcard $(MIRROR)/MANIFEST.tsv),$(MIRROR),)

.PHONY: run test build install install-test clean bench bench-web bench-dossier

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The end-to-end web test drives Debian's Chromium through Playwright (Playwright's own browser
# download does not work here); the proxy test starts Debian's nginx (with an openssl-made certificate).
# Both are installed from Debian's packages when missing.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@{ command -v chromium && command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium nginx openssl; }
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

build: install
	$(BIN)/geo-app build

run: build
	$(BIN)/geo-app serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md), not part of `make test`. `make bench` runs them all and writes one
# JSON (bench/out/bench.json: machine, load before/after each block, figures). BENCH_TERRAIN_ARGS,
# BENCH_WEB_ARGS and BENCH_DOSSIER_ARGS pass options, e.g. BENCH_TERRAIN_ARGS="--size 1000 --skip-peer".
# The web benchmark needs the apt packages python3-venv python3-gdal libsqlite3-mod-spatialite
# apache2-utils (installed by the script when run as root), makes bench/out/pygeoapi-venv for the peer,
# and drives Chromium through Playwright (make install-test).
bench: build install-test
	$(BIN)/pip install --quiet mapclassify
	$(BIN)/python bench/run_all.py --terrain-args "$(BENCH_TERRAIN_ARGS)" --web-args "$(BENCH_WEB_ARGS)" \
	  --dossier-args "$(BENCH_DOSSIER_ARGS)"

bench-web: build install-test
	$(BIN)/pip install --quiet mapclassify
	$(BIN)/python bench/bench_web.py $(BENCH_WEB_ARGS)

bench-dossier: build
	$(BIN)/python bench/bench_dossier.py

clean:
	rm -rf $(VENV) var

# Terrain + groundwater-potential benchmark against xarray-spatial (not part of `make test`; see
# README.md "Benchmarks"). BENCH_ARGS passes options, e.g. `make bench-terrain BENCH_ARGS="--size 1000 --skip-peer"`.
.PHONY: bench-terrain
bench-terrain: install
	$(BIN)/python bench/bench_terrain.py $(BENCH_ARGS)
