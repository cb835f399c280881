# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED := $(abspath ../shared)
# Point the project at the shared EuroSAT copy when it is there (never copied into the repo).
ifneq ($(wildcard $(SHARED)/data/eurosat_rgb),)
export LULC_EUROSAT_DIR ?= $(SHARED)/data/eurosat_rgb
endif
export LULC_DATA_DIR ?= $(abspath data)
PORT ?= 8501

.PHONY: demo test install assets demo-data app bench clean

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Leaflet and Leaflet.draw served by Streamlit itself, so the map works offline.
assets: install
	if [ -f dashboard/assets.py ]; then $(BIN)/python -m dashboard.assets; fi

demo-data: install
	$(BIN)/lulc demo-data --if-missing

demo: install assets demo-data
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install assets demo-data
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser test will be skipped"
	command -v pdftoppm >/dev/null || (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null) || echo "poppler-utils not installed: the report's PNG check will be skipped"
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/prepare_scene.py
	$(BIN)/python bench/scene_inference.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
