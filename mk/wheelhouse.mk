# The wheelhouse the EMR bootstrap installs from (src/fruits/cloud/wheelhouse.py): a wheel for
# each pin of requirements/cluster.lock, for the nodes (Linux x86_64, CPython 3.11, glibc 2.34),
# downloaded once into .tools/wheelhouse/TARGET/LOCKHASH/ (about 450 MB). `fruits stage` uses the
# same folder; tests/bootstrap installs the full lock from it with no index. A no-op (it checks
# the folder against its SHA256SUMS) once built for this lock.
.PHONY: wheelhouse

wheelhouse: $(VENV)/.installed
	$(PY) -m fruits.cloud.wheelhouse requirements/cluster.lock

TEST_SETUP += wheelhouse
