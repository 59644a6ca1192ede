"""SHA-256 of a file, read in 1 MiB blocks: `sha256_of_file("weights.h5")` -> hex digest.

Light on purpose (no NumPy, no Spark): the pipeline's manifest and the CLI's uploads both use it."""
from __future__ import annotations

import hashlib
import os


def sha256_of_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
