"""Step 1's summary (`extract_summary.json`), built from plain values: no Spark, no I/O.

Usage: `summary = build_extract_summary(run_id=..., images_uri=..., listing=listing, rejected=rows,
weights=info, inference=settings, partitions=n, images_per_partition=128, versions={...})`.
`rejected` holds every file not featurized (the listing's rejects included), each with `.path`
and `.reason`; every other file of the listing counts as featurized. The step adds
`duration_seconds` when it writes the summary, and `feature_store` (None without a store): its
root, key_id and key fields, mode, batch, featurized_now (distinct contents the model ran on in
this run), from_store (images whose features were read from the store), stored_now, purged
(hashes erased by --purge, else None), vacuumed, images_read (files read and hashed),
unchanged_not_read (files the store's index knew unchanged) and index (what became of it);
and `timings` (fruits.step_clock): the seconds of each phase on the driver, and the workers'
model build, decode and inference seconds with the number of images they decoded (the model ran
once per image when it equals featurized_now).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from fruits.features import InferenceSettings
    from fruits.input_files import Listing

EXAMPLES_KEPT = 10


def reason_category(reason: str) -> str:
    """What summaries count: the part of a reason before its first ':'."""
    return reason.split(":", 1)[0]


def build_extract_summary(*, run_id: str, images_uri: str, listing: Listing, rejected: Sequence, weights: dict,
                          inference: InferenceSettings, partitions: int, images_per_partition: int,
                          versions: dict) -> dict:
    files_found = listing.entries_found  # each one is featurized or rejected with its reason
    return {
        "run_id": run_id,
        "images_uri": images_uri,
        "files_found": files_found,
        "images": files_found,
        "featurized": files_found - len(rejected),
        "rejected": len(rejected),
        "rejected_by_reason": dict(Counter(reason_category(row.reason) for row in rejected)),
        "rejected_examples": [{"path": row.path, "reason": row.reason} for row in rejected[:EXAMPLES_KEPT]],
        "weights": weights,
        "settings": {**asdict(inference), "partitions": partitions, "images_per_partition": images_per_partition},
        "versions": versions,
        "feature_store": None,
    }
