"""Spark job, step 2: features -> PCA matrix (CSV and Parquet), model, curve and run manifest.

spark-submit --py-files fruits.zip jobs/reduce_dimensions.py \
    --output s3://BUCKET/results/RUN/ --run-id RUN (--variance 0.95 | --k 50) [--standardize]
"""
import sys

from fruits.errors import FruitsError
from fruits.session import build_session
from fruits.steps.reduce_step import parse_args, run_reduce


def main(argv=None) -> int:
    args = parse_args(argv)
    spark = build_session(f"fruits-reduce-{args.run_id}")
    try:
        manifest = run_reduce(spark, args)
    except FruitsError as error:
        print(f"reduce_dimensions: error: {error}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(f"reduce_dimensions: k={manifest['k']}, variance {manifest['variance_reached']:.3f}, "
          f"accuracy {manifest['accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
