"""Spark job, step 1: images -> MobileNetV2 features (Parquet) under the run's output prefix.

spark-submit --py-files fruits.zip jobs/extract_features.py \
    --images s3://BUCKET/images/ --output s3://BUCKET/results/RUN/ --weights s3://.../x.h5 --run-id RUN
"""
import sys

from fruits.session import build_session
from fruits.spark_failures import MEMORY_HINT
from fruits.steps.extract_step import parse_args, refuse_overlapping_locations, run_extract
from fruits.steps.job_runner import run_job


def main(argv=None) -> int:
    args, arrow_batch_size = parse_args(argv)
    return run_job(
        "extract_features",
        lambda: build_session(f"fruits-extract-{args.run_id}", arrow_batch_size=arrow_batch_size),
        lambda spark: run_extract(spark, args),
        lambda summary: f"{summary['featurized']} images featurized, {summary['rejected']} rejected",
        memory_hint=MEMORY_HINT,
        output=args.output, run_id=args.run_id,
        check=lambda: refuse_overlapping_locations(args),  # before the run folder and its .lock are made among the photos
    )


if __name__ == "__main__":
    sys.exit(main())
