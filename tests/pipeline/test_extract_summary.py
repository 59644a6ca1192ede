"""Step 1's summary (extract_summary.json) from plain values, no Spark: every file found is
counted as featurized or rejected, the rejects are counted by the category of their reason, and
a few examples are kept."""
from __future__ import annotations

import json
from typing import NamedTuple

from fruits.features import InferenceSettings
from fruits.input_files import Listing
from fruits.steps.extract_summary import EXAMPLES_KEPT, build_extract_summary


class Row(NamedTuple):  # what Spark's collect() and fruits.images give: path, label, reason
    path: str
    label: str | None
    reason: str


def listing_of(accepted: list[str], rejected: dict[str, str]) -> Listing:
    listing = Listing("file:/photos")
    for relative in accepted:
        listing.accept(relative, 100)
    for relative, reason in rejected.items():
        listing.reject(relative, reason)
    return listing


def test_counts_reasons_weights_settings_and_versions():
    listing = listing_of(["Apple/1.jpg", "Apple/2.jpg", "Kiwi/1.jpg", "Kiwi/2.png"],
                         {"notes.txt": "not in a label folder: images go in IMAGES/LABEL/NAME",
                          "Kiwi/a:b.jpg": "unsupported name: ':' in a file or folder name"})
    rejected = [Row("file:/photos/notes.txt", None, "not in a label folder: images go in IMAGES/LABEL/NAME"),
                Row("file:/photos/Kiwi/a:b.jpg", "Kiwi", "unsupported name: ':' in a file or folder name"),
                Row("file:/photos/Kiwi/2.png", "Kiwi", "not an image: Pillow cannot identify the file format")]
    summary = build_extract_summary(
        run_id="run-1", images_uri="/photos", listing=listing, rejected=rejected,
        weights={"source": "/w.h5", "sha256": "ab" * 32}, inference=InferenceSettings(batch_size=16),
        partitions=2, images_per_partition=128, versions={"python": "3.11.9", "spark": "3.5.6"})

    assert summary == {
        "run_id": "run-1",
        "images_uri": "/photos",
        "files_found": 6,
        "images": 6,
        "featurized": 3,
        "rejected": 3,
        "rejected_by_reason": {"not in a label folder": 1, "unsupported name": 1, "not an image": 1},
        "rejected_examples": [{"path": row.path, "reason": row.reason} for row in rejected],
        "weights": {"source": "/w.h5", "sha256": "ab" * 32},
        "settings": {"batch_size": 16, "tf_threads": 1, "max_pixels": 100_000_000, "tensorflow_notices": True,
                     "input_size": 224, "engine": "onnxruntime", "partitions": 2, "images_per_partition": 128},
        "versions": {"python": "3.11.9", "spark": "3.5.6"},
        "feature_store": None,  # the step fills it in when it has a store
    }
    assert json.loads(json.dumps(summary)) == summary  # written as it is


def test_only_the_first_examples_are_kept_but_every_reject_is_counted():
    names = [f"Apple/{index}.jpg" for index in range(EXAMPLES_KEPT + 5)]
    rejected = [Row(f"s3://b/images/{name}", "Apple", f"corrupt or truncated image: broken data stream in {name}")
                for name in names]
    summary = build_extract_summary(
        run_id="r", images_uri="s3://b/images/", listing=listing_of(names, {}), rejected=rejected, weights={},
        inference=InferenceSettings(), partitions=1, images_per_partition=128, versions={})
    assert (summary["files_found"], summary["featurized"], summary["rejected"]) == (15, 0, 15)
    assert summary["rejected_by_reason"] == {"corrupt or truncated image": 15}
    assert summary["rejected_examples"] == [{"path": row.path, "reason": row.reason} for row in rejected[:EXAMPLES_KEPT]]
    assert EXAMPLES_KEPT == 10
