# Two commands for a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The pinned sources are read from a local mirror first when there is one (CI and the
# developers' machines have ../shared/data/mirror); otherwise they are downloaded and verified.
MIRROR := $(abspath ../shared/data/mirror)
export GEO_APP_DATA_MIRROR ?= $(if $(wildcard $(MIRROR)/MANIFEST.tsv),$(MIRROR),)

.PHONY: run test build install install-test clean notebooks bench bench-web bench-dossier bench-ogc-pages bench-terrain

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Debian packages the tests need: Chromium for the browser tests (Playwright's own browser download does
# not work here), PostgreSQL + PostGIS for the PostGIS store tests (they start a throwaway cluster of their own),
# gdal-bin for reading the georeferenced sheet back with gdalinfo (its PDF driver), nginx and openssl for the
# HTTPS reverse-proxy test.
APT_TEST := chromium postgresql-15-postgis-3 gdal-bin nginx openssl

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@missing="$$(for p in $(APT_TEST); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@# headless QGIS (Debian's python3-qgis, run by /usr/bin/python3) is one of the OGC API clients tested
	@/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends \
	    python3-qgis qgis-providers; }
	touch $@

# JupyterLab only for the notebooks target (an optional extra), so `make run` and `make test` stay lean.
$(VENV)/.installed-notebooks: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[notebooks]'
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

# JupyterLab on the notebooks, in this environment (the layer store is built first: the notebooks read it).
notebooks: build $(VENV)/.installed-notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks

clean:
	rm -rf $(VENV) var

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
	$(BIN)/python bench/bench_web.py $(BENCH_WEB_ARGS)

bench-dossier: build
	$(BIN)/python bench/bench_dossier.py

# OGC API pages at 16 clients: whole-layer reads against a small page, per byte (needs apache2-utils).
bench-ogc-pages: build
	$(BIN)/python bench/bench_ogc_pages.py $(BENCH_ARGS)

# Terrain against whitebox-workflows, RichDEM, pyflwdir and xarray-spatial; BENCH_ARGS passes options,
# e.g. `make bench-terrain BENCH_ARGS="--size 1000 --skip-peer"`.
bench-terrain: install
	$(BIN)/python bench/bench_terrain.py $(BENCH_ARGS)
