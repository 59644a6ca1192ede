# make check: the fast loop, about 1 min here (`make test` runs everything, slow suites included).
# Of the suites that hold unit tests and checks, every test not marked slow (`-m "not slow"`:
# nothing that starts Spark, TensorFlow or a pipeline in a process): the pipeline's units, the
# state machine's definition checks, the compliance scan (tests/compliance runs compliance/scan.py
# on terraform/, as `make compliance` does, then on broken fixtures) and the slides.
# tests/cloud and tests/bootstrap drive processes (the CLI against a moto server, pip in throwaway
# venvs): `make test` runs them. The set-up is the tests' own, but the 450 MB wheelhouse, which
# only the bootstrap's full install needs. The compliance tests (two thirds of the time, in
# checkov and Terraform processes) run beside the others, each shown when it ends.
CHECK_SUITES := tests/architecture tests/pipeline tests/stepfunctions tests/docs

.PHONY: check check-compliance-tests check-suites
check:
	@$(MAKE) -s --no-print-directory -j4 --output-sync=target $(filter-out wheelhouse,$(TEST_SETUP))
	@$(MAKE) --no-print-directory -j2 --output-sync=target check-compliance-tests check-suites

check-compliance-tests:
	$(PY) -m pytest -m "not slow" tests/compliance $(PYTEST_ARGS)

check-suites:
	$(PY) -m pytest -m "not slow" $(CHECK_SUITES) $(PYTEST_ARGS)
