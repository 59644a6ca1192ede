"""Both steps with `s3://` URIs, as the EMR steps get them, against a moto S3 server on
127.0.0.1 through Hadoop's S3A connector: images are listed and read from the bucket, outputs
are written there, and a missing bucket is a clear error. (moto does not enforce bucket
policies or SSE-KMS; encryption is checked by the cloud tests, not here.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from fruits.rehearsal.emulator import MotoServer
from fruits.s3a import JARS_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


RUN_STEPS = textwrap.dedent("""
    import json, sys
    from fruits.errors import FruitsError
    from fruits.s3a import s3a_conf
    from fruits.session import build_session
    from fruits.steps.extract_step import ExtractArgs, run_extract
    from fruits.steps.reduce_step import ReduceArgs, run_reduce
    endpoint, jars, images, output, weights = sys.argv[1:6]
    spark = build_session("s3-test", master="local[2]", extra_conf=s3a_conf(endpoint, jars))
    try:
        run_extract(spark, ExtractArgs(images=images, output=output, weights=weights))
        print(json.dumps(run_reduce(spark, ReduceArgs(output=output, k=3))))
    except FruitsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        spark.stop()
""")


def run_steps(endpoint, images, output, weights):
    """In a process of its own: the S3A jars must be on the JVM's class path from its start."""
    return subprocess.run([sys.executable, "-c", RUN_STEPS, endpoint, str(JARS_DIR), images, output,
                           str(weights)], capture_output=True, text=True,
                          env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})


def test_steps_read_and_write_s3_uris(moto, small_sample, weights_file):
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="fruits-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    for image in sorted(small_sample.rglob("*.jpg"))[:20]:
        s3.upload_file(str(image), "fruits-test", f"images/{image.parent.name}/{image.name}")

    result = run_steps(moto.endpoint, "s3://fruits-test/images/", "s3://fruits-test/results/run-1/", weights_file)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads(result.stdout.strip().splitlines()[-1])
    assert (manifest["images"], manifest["featurized"], manifest["k"]) == (20, 20, 3)
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="fruits-test", Prefix="results/run-1/")["Contents"]}
    assert "results/run-1/manifest.json" in keys and "results/run-1/features/_SUCCESS" in keys
    assert "results/run-1/pca/matrix.csv" in keys  # one CSV file, not Spark's folder of parts
    assert not [key for key in keys if "_staging" in key]  # staged outputs were moved into place
    written = json.loads(s3.get_object(Bucket="fruits-test", Key="results/run-1/manifest.json")["Body"].read())
    assert written["outputs"]["matrix_csv"] == "s3://fruits-test/results/run-1/pca/matrix.csv"


def test_missing_bucket_is_a_clear_error(moto, weights_file):
    result = run_steps(moto.endpoint, "s3://no-such-bucket/images/", "s3://no-such-bucket/results/r/", weights_file)
    assert result.returncode == 1
    assert "error: bucket not found: s3://no-such-bucket/images/" in result.stderr


def test_keys_that_hadoop_rewrites_are_rejected_by_name_and_counted(moto, small_sample, weights_file):
    """Hadoop's Path turns 'apple//x.jpg' into 'apple/x.jpg': two keys that list as one path would
    have given one row and been counted as two featurized. Both are rejected, and what the summary
    counts is what the outputs hold. A lone rewritten key names the rewriting in its reason."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="fruits-rewritten", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    images = sorted(small_sample.rglob("*.jpg"))
    for image in images[:4]:
        s3.upload_file(str(image), "fruits-rewritten", f"images/{image.parent.name}/{image.name}")
    for key, image in (("images/apple//x.jpg", images[4]), ("images/apple/x.jpg", images[5]), ("images/kiwi/z.jpg/", images[6])):
        s3.put_object(Bucket="fruits-rewritten", Key=key, Body=image.read_bytes())

    result = run_steps(moto.endpoint, "s3://fruits-rewritten/images/", "s3://fruits-rewritten/results/r/", weights_file)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(s3.get_object(Bucket="fruits-rewritten", Key="results/r/extract_summary.json")["Body"].read())
    assert (summary["files_found"], summary["featurized"], summary["rejected"]) == (7, 4, 3)
    reasons = sorted(example["reason"].split(" (")[0] for example in summary["rejected_examples"])
    assert reasons == ["unreadable: Spark could not read it", "unsupported name: several objects list as this path",
                       "unsupported name: several objects list as this path"]
    manifest = json.loads(result.stdout.strip().splitlines()[-1])
    assert manifest["featurized"] == 4


def test_a_key_with_a_parent_part_is_one_clear_line(moto, small_sample, weights_file):
    """'apple/../e.jpg' sent Spark's recursive listing into a StackOverflowError and thousands of frames."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="fruits-parent", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    images = sorted(small_sample.rglob("*.jpg"))
    for image in images[:3]:
        s3.upload_file(str(image), "fruits-parent", f"images/{image.parent.name}/{image.name}")
    s3.put_object(Bucket="fruits-parent", Key="images/apple/../e.jpg", Body=images[3].read_bytes())

    result = run_steps(moto.endpoint, "s3://fruits-parent/images/", "s3://fruits-parent/results/r/", weights_file)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "error: Spark's listing of " in result.stderr and "never ended (a key with a '..' part" in result.stderr, result.stderr[-2000:]
    written = [item["Key"] for item in s3.list_objects_v2(Bucket="fruits-parent", Prefix="results/").get("Contents", [])]
    assert [key for key in written if not key.endswith("/")] == []  # at most S3A's empty folder marker
