# The embedded Spark's JVM maps the classes of Spark's jobs from a class-data archive
# (fruits.jvm_archive): each local run and test process starts its first jobs faster. Built by a
# short Spark run (about 30 s); its record (.json), written last, is the target.
JVM_ARCHIVE := .tools/jvm/spark-classes.jsa

$(JVM_ARCHIVE).json: $(VENV)/.installed src/fruits/jvm_archive.py src/fruits/jvm_archive_workload.py
	$(PY) -m fruits.jvm_archive $(JVM_ARCHIVE)

TEST_SETUP += $(JVM_ARCHIVE).json
