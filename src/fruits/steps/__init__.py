"""The two pipeline steps as library functions (`run_extract`, `run_reduce`) with their argument
parsers; `jobs/*.py` (spark-submit) and `fruits run-local` both call them."""
