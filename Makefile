# octopack: `make demo` runs the main job on embedded defaults, `make test` runs every test.
# Both set up .venv first (CPU torch, pinned constraints, toolchains) — see scripts/setup.sh.

VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
# Local HumanEvalPack copy used when present (the product itself defaults to the Hub dataset).
HUMANEVALPACK_DIR ?= $(firstword $(wildcard ../shared/data/humanevalpack))
export OCTOPACK_TEST_DATA ?= $(abspath ../shared/data)

.PHONY: setup setup-test demo test test-quick benchmark clean

setup:
	scripts/setup.sh --toolchains

# the tests also need the test and report tools (headless Chromium): scripts/debian-packages.txt
setup-test:
	scripts/setup.sh --toolchains --test-tools

# the main job (octopack run) on embedded defaults; the report: outputs/octopack-run/report.html.
# A local copy of the benchmarks and seed sets (../shared/data) is used when present, else the Hub.
DEMO_DATA_DIR ?= $(firstword $(wildcard ../shared/data))
demo: setup
	HF_ALLOW_CODE_EVAL=1 $(PY) -m octo_trainer.cli run $(if $(DEMO_DATA_DIR),--set data.local_dir=$(abspath $(DEMO_DATA_DIR))) $(DEMO_ARGS)

test: setup-test
	HF_ALLOW_CODE_EVAL=1 $(PY) -m pytest -p no:cacheprovider --timeout 1800

test-quick: setup-test
	HF_ALLOW_CODE_EVAL=1 $(PY) -m pytest -p no:cacheprovider -m "not slow" --timeout 600

benchmark: setup
	HF_ALLOW_CODE_EVAL=1 $(PY) benchmarks/executor_benchmark.py $(if $(HUMANEVALPACK_DIR),--data-dir $(HUMANEVALPACK_DIR))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
