# PartnerSearch — the README names these targets.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PARTNERSEARCH_CACHE ?= $(CURDIR)/.cache/partnersearch
export PARTNERSEARCH_DATA_DIR ?= $(CURDIR)/.data
HOST ?= 127.0.0.1
PORT ?= 8000
PIAF ?= ../shared/evaldata/piaf_v1.1

.PHONY: install run test test-fast lint format eval train-answerer train-reranker bench clean

$(BIN)/partnersearch: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/partnersearch

## run: install, build the model, ingest corpus/ and serve on http://$(HOST):$(PORT)
run: install
	$(BIN)/partnersearch build-model
	$(BIN)/partnersearch ingest corpus/
	@echo "PartnerSearch is serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/partnersearch serve --host $(HOST) --port $(PORT)

## test: install everything (Chromium included) and run the whole suite
test: install
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(BIN)/ruff check .
	@# pytest exits 5 when it collected nothing: that is a failure, not a pass.
	@$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-fast: install
	$(BIN)/pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: install
	$(BIN)/partnersearch eval --suite dev

## train-answerer: relearn /ask's selector + abstainer from PIAF (writes service/data/answerer.json)
train-answerer: install
	$(BIN)/partnersearch train-answerer --piaf $(PIAF)

## train-reranker: retrain the rerank stage's cross-encoder from e5-small on PIAF (about 55 min;
## writes service/data/reranker/)
train-reranker: install
	$(BIN)/partnersearch train-reranker --piaf $(PIAF)

bench: install
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache *.egg-info
