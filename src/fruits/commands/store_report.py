"""The feature store's counts of one run, worded once for `fruits run-local` and `fruits results`,
from the `feature_store` report of the run's manifest (fruits.steps.extract_summary).

Usage: `store_counts(manifest.get("feature_store"))` -> "3 featurized now, 8 from the feature store
file:/.../photos (8 of them unchanged, not read again), 1 erased (--purge)", or None when the run
had no store (or the report is not a map).
"""
from __future__ import annotations


def store_counts(report: object) -> str | None:
    if not isinstance(report, dict):  # None without a store; a fetched manifest may be anything
        return None
    root = f" {report['root']}" if report.get("root") else ""
    erased = f", {report['purged']} erased (--purge)" if report.get("purged") is not None else ""
    unread = f" ({report['unchanged_not_read']} of them unchanged, not read again)" if report.get("unchanged_not_read") else ""
    return (f"{report.get('featurized_now')} featurized now, {report.get('from_store')} from the feature store{root}"
            f"{unread}{erased}")
