# Two entry points for a fresh machine: `make run` (install + start the app) and
# `make test` (install + ruff + mypy + every test, browser, PostgreSQL and nginx tests included).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Where pip finds torch's CPU build; empty = pip's own configuration (see the README).
TORCH_INDEX_URL ?=
TORCH_INDEX_FLAG := $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL),)

.PHONY: run test install system-deps bench

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned, so nothing else can pull a CUDA build
	$(PY) -m pip install --quiet torch==2.13.0 $(TORCH_INDEX_FLAG)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Debian packages the test suite needs: a real browser (with an emoji font, so icons render),
# a PostgreSQL server, and nginx for the two-replica class set-up.
DEBIAN_TEST_PACKAGES := chromium fonts-noto-color-emoji postgresql nginx
system-deps:
	@if ! dpkg -s $(DEBIAN_TEST_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES) >/dev/null; \
	fi

run: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/streamlit run app_server.py

test: install system-deps
	$(PY) -m ruff check .
	$(PY) -m mypy
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests

bench: install
	HF_HUB_OFFLINE=1 $(PY) -m bench
