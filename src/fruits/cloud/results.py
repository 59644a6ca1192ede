"""`fruits results RUN`: the run's summary and reduced matrix, from the bucket to a local folder.

Usage: `files = fetch_results(s3, platform, "run-...", Path("output/run-..."))`. Spark's own
outputs (features/, the Parquet matrix, the PCA model) stay in the bucket: their URIs are in
manifest.json."""
from __future__ import annotations

from pathlib import Path

from fruits.cloud.aws import aws_errors
from fruits.cloud.transfer import existing_sizes
from fruits.errors import FruitsError

WANTED = ("manifest.json", "extract_summary.json", "pca/matrix.csv", "pca/explained_variance.csv", "pca/plots/")


def fetch_results(s3, platform, run_id: str, target: Path) -> list[Path]:
    prefix = f"{platform.prefixes['results']}{run_id}/"
    keys = sorted(key for key in existing_sizes(s3, platform.bucket, prefix)
                  if key[len(prefix):].startswith(WANTED) and not key.endswith("/") and "/_" not in key[len(prefix):])
    if prefix + "manifest.json" not in keys:
        raise FruitsError(f"run {run_id} has no results yet (no s3://{platform.bucket}/{prefix}manifest.json): "
                          f"see `fruits status {run_id}`")
    fetched = []
    for key in keys:
        local = target / key[len(prefix):]
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(local.name + ".partial")
        with aws_errors(f"download s3://{platform.bucket}/{key}"):
            s3.download_file(platform.bucket, key, str(partial))
        partial.replace(local)  # a file is there whole or not at all
        fetched.append(local)
    return fetched
