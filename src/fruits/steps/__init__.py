"""The two pipeline steps as library functions (`run_extract`, `run_reduce`) with their argument
parsers; `jobs/*.py` (spark-submit) and `fruits run-local` both call them. Beside them, the parts
that need no Spark: `extract_summary` and `run_manifest` (what each step reports, built from plain
values), `run_folder` (when a run folder is complete) and `job_runner` (the jobs' shared body)."""
