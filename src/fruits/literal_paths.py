"""Spark's file readers (`spark.read.parquet`, `binaryFile`, ...) read every path as a Hadoop glob
pattern, so a folder named `photos [1]` or `runs {a,b}` is "not found". `literal_path(uri)`
escapes the pattern characters so that the reader takes the path as it is.

Usage: `spark.read.parquet(literal_path(uri))`. Hadoop's FileSystem calls (Storage) need no
escaping: they never glob.
"""
from __future__ import annotations

GLOB_CHARACTERS = frozenset("\\[]{}*?")  # what Hadoop's GlobPattern treats as special outside brackets


def literal_path(uri: str) -> str:
    return "".join("\\" + character if character in GLOB_CHARACTERS else character for character in uri)
