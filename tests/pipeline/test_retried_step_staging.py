"""A step that failed or was killed leaves hidden staging files in its run folder (`_staging-*`,
never read). On EMR the state machine retries the step, whose new attempt stages under new names,
and nothing else would remove them from results/RUN/ (which has no expiry): each step removes
them once its checks pass. (Here on a local folder: the step reaches S3 through the same Hadoop
FileSystem calls.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from fruits.steps.extract_step import ExtractArgs, run_extract
from fruits.steps.reduce_step import ReduceArgs, run_reduce

from .images import copy_subset


def earlier_attempt(run: Path, *names: str) -> None:
    """What a failed attempt leaves: a part-written staged folder or file for each of `names`."""
    for name in names:
        (run / f"_staging-{name}-0badcafe").mkdir(parents=True)
        (run / f"_staging-{name}-0badcafe" / "part-00000.parquet").write_bytes(b"half written")


@pytest.mark.slow
def test_each_step_removes_the_staging_an_earlier_attempt_left(spark, sample_images, weights_file, tmp_path):
    images = copy_subset(sample_images, tmp_path / "images", per_class=1, classes=2)
    run = tmp_path / "results" / "run-1"
    earlier_attempt(run, "features", "rejected")

    run_extract(spark, ExtractArgs(images=str(images), output=str(run), weights=str(weights_file), run_id="run-1"))
    assert not list(run.glob("*staging*")) and (run / "features" / "_SUCCESS").is_file()

    earlier_attempt(run, "pca", "manifest.json")
    run_reduce(spark, ReduceArgs(output=str(run), run_id="run-1", k=1))
    assert not list(run.glob("*staging*")) and (run / "manifest.json").is_file()
