"""Checks shared by the feature store's tests: what its files hold, and bit-for-bit equality."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def hashes_on_disk(root: Path) -> set[str]:
    """Every content hash held by any Parquet file under `root`, committed or not."""
    found = set()
    for path in root.rglob("*.parquet"):
        found |= set(pq.read_table(path, columns=["content_sha256"]).column("content_sha256").to_pylist())
    return found


def assert_same_bits(found: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """The same names, each with the same float32 bits."""
    assert found.keys() == expected.keys()
    different = [name for name in expected if not np.array_equal(found[name].view(np.uint32), expected[name].view(np.uint32))]
    assert not different, f"{len(different)} rows differ in their bits: {different[:3]}"
