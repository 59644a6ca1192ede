"""Fruits! image platform: fruit photos to a compact feature matrix on Spark.

Use the `fruits` command (or `python -m fruits`); the Spark jobs live in `jobs/`.
"""

__version__ = "0.1.0"
