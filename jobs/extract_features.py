"""Spark job, step 1: images -> MobileNetV2 features (Parquet) under the run's output prefix.

spark-submit --py-files fruits.zip jobs/extract_features.py \
    --images s3://BUCKET/images/ --output s3://BUCKET/results/RUN/ --weights s3://.../x.h5 --run-id RUN
"""
import sys

from fruits.errors import FruitsError
from fruits.session import build_session
from fruits.steps.extract_step import parse_args, run_extract


def main(argv=None) -> int:
    args, arrow_batch_size = parse_args(argv)
    spark = build_session(f"fruits-extract-{args.run_id}", arrow_batch_size=arrow_batch_size)
    try:
        summary = run_extract(spark, args)
    except FruitsError as error:
        print(f"extract_features: error: {error}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(f"extract_features: {summary['featurized']} images featurized, {summary['rejected']} rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
