# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   - install, then run the pipeline on the sample images on an embedded Spark
#   make test   - install everything the tests need, then run them all
# Each concern adds its own targets in mk/*.mk and appends its set-up to TEST_SETUP.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_SETUP := $(VENV)/.installed

.PHONY: demo test venv lock clean
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the pipeline on the sample images (local Spark)"
	@echo "make test   install what the tests need and run them"
	@echo "make check  the fast loop (about 1 min): unit tests, definition checks, the compliance scan"
	@echo "make rehearse ARGS=\"--per-class 30\"   the whole cloud run offline (AWS emulated, local Spark)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements/cluster.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/cluster.lock -e ".[dev]"
	touch $@

include $(wildcard mk/*.mk)

demo: $(VENV)/.installed $(JVM_ARCHIVE).json
	$(VENV)/bin/fruits run-local $(ARGS)

# `make test` runs the tests in two processes at once, and both must pass: the Spark and TensorFlow
# pipeline tests (busy on the CPU), and beside them the ones that mostly wait on other processes:
# the rehearsal (each test a whole cloud run: the emulator, Terraform, spark-submit), the cloud
# commands and the state machine on the emulator, the compliance scan, then the installer and
# notebook tests, then two pipeline tests that run their jobs in processes of their own (an S3
# feature store on the emulator, a standalone cluster), which even out the two processes' wall
# times (measured 2026-12-07: 1,509 s against 1,234 s without them). The second's report is
# printed after the first's. `make test PYTEST_ARGS=...` runs one pytest with those arguments.
REHEARSAL_TESTS_LOG := .tools/rehearsal-tests.log
BESIDE_TESTS := tests/rehearsal tests/cloud tests/stepfunctions tests/compliance tests/bootstrap tests/notebooks \
  tests/pipeline/test_s3_feature_store_runs.py tests/pipeline/test_standalone_cluster.py
# The set-up's parts are independent downloads and installs (two venvs, npm, apt, jars, the provider,
# the wheelhouse): made four at a time, they take about half as long as one after the other.
test:
	@$(MAKE) --no-print-directory -j4 --output-sync=target $(TEST_SETUP)
ifeq ($(strip $(PYTEST_ARGS)),)
	@mkdir -p .tools; \
	$(PY) -m pytest -p no:cacheprovider --durations=20 $(BESIDE_TESTS) > $(REHEARSAL_TESTS_LOG) 2>&1 & rehearsal=$$!; \
	trap 'kill $$rehearsal 2>/dev/null' INT TERM; \
	$(PY) -m pytest --durations=30 $(addprefix --ignore=,$(BESIDE_TESTS)); others=$$?; \
	wait $$rehearsal; rehearsed=$$?; \
	echo "--- $(BESIDE_TESTS), run beside the others (exit $$rehearsed) ---"; cat $(REHEARSAL_TESTS_LOG); \
	test $$others -eq 0 && test $$rehearsed -eq 0
else
	$(PY) -m pytest $(PYTEST_ARGS)
endif

# Regenerate requirements/cluster.lock from the jobs' direct pins: [project].dependencies only, not
# the dev extras (minus pyspark, which EMR provides). The build tools (pip, setuptools, wheel) stay
# out: the bootstrap installs with --no-deps and smoke-tests every import.
LOCK_PINS = $(PYTHON) -c 'import tomllib; print(" ".join(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if not d.startswith("pyspark")))'
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet $$($(LOCK_PINS))
	{ head -4 requirements/cluster.lock; .lockvenv/bin/pip freeze; } > requirements/cluster.lock.new
	mv requirements/cluster.lock.new requirements/cluster.lock && rm -rf .lockvenv

clean:
	rm -rf $(VENV) .venv-compliance .tools node_modules docs/presentation/node_modules output
