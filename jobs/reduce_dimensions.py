"""Spark job, step 2: features -> PCA matrix (CSV and Parquet), model, curve and run manifest.

spark-submit --py-files fruits.zip jobs/reduce_dimensions.py \
    --output s3://BUCKET/results/RUN/ --run-id RUN (--variance 0.95 | --k 50) [--standardize]
"""
import sys

from fruits.session import build_session
from fruits.steps.job_runner import run_job
from fruits.steps.reduce_step import parse_args, run_reduce


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_job(
        "reduce_dimensions",
        lambda: build_session(f"fruits-reduce-{args.run_id}"),
        lambda spark: run_reduce(spark, args),
        lambda manifest: f"k={manifest['k']}, variance {manifest['variance_reached']:.3f}, accuracy {manifest['accuracy']}",
        output=args.output, run_id=args.run_id,
    )


if __name__ == "__main__":
    sys.exit(main())
