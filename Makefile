# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone:
# each creates .venv when it is missing and installs the project into it (editable).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv system-deps clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: it takes the CPU wheel on disk instead of a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,evidence-test,openai-deps,multilingual,bench,speakers]'
	# openai-whisper without triton, which its CPU path never uses
	$(BIN)/pip install --quiet --no-deps 'openai-whisper>=20240930'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf demo-archive
	$(BIN)/archiver --archive demo-archive add examples/seed-article/article.md
	$(BIN)/archiver --archive demo-archive search "al-Tanf" --limit 3
	$(BIN)/archiver --archive demo-archive search "Idlib" --limit 3

# Debian packages the tests need: Chromium for the export bundle's browser tests,
# espeak-ng and flite for short generated speech clips, openssl for the signature and the
# loopback timestamp authority (`openssl ts -reply`), a C compiler for webrtcvad (a dependency
# of the [speakers] extra, built from source). Installed only when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 && command -v flite >/dev/null 2>&1 \
	  && command -v openssl >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng flite openssl gcc >/dev/null; }

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf demo-archive test-output .pytest_cache
