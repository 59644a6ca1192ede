"""The extract job's own arguments (as the state machine passes them) with its feature store on
`s3://`, against a moto S3 server through S3A: a second run on more images featurizes only the new
ones, reading only their objects (the store's index) and without loading the weights on the driver, a purge after a photo is deleted from the
bucket erases its features from the objects and the index, and nothing of a write is left behind. The same step code as `fruits run-local` (tests/pipeline/
test_incremental_runs.py), on the other storage."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest

from fruits.rehearsal.emulator import MotoServer
from fruits.s3a import JARS_DIR

pytestmark = pytest.mark.slow

BUCKET, STORE = "fruits-store-runs", "feature-store/fruits-360/"

# Each run is the job's: its argument parser, then run_extract (the job only adds build_session).
RUN_JOB_TWICE = textwrap.dedent("""
    import json, sys
    from fruits.s3a import s3a_conf
    from fruits.session import build_session
    from fruits.steps.extract_step import parse_args, run_extract
    endpoint, jars, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    spark = build_session("s3-store-runs", master="local[2]", extra_conf=s3a_conf(endpoint, jars))
    try:
        for argv in runs:
            args, _ = parse_args(argv)
            summary = run_extract(spark, args)
            print(json.dumps({**summary["feature_store"], "weights": summary["weights"]}))
    finally:
        spark.stop()
""")


def job_arguments(run_id: str, weights, *choices: str) -> list[str]:
    return ["--images", f"s3://{BUCKET}/images/fruits-360/", "--output", f"s3://{BUCKET}/results/{run_id}/",
            "--weights", str(weights), "--run-id", run_id, "--feature-store", f"s3://{BUCKET}/{STORE}", *choices]


def stored_hashes(s3) -> set[str]:
    found = set()
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=STORE).get("Contents", []):
        if item["Key"].endswith(".parquet"):
            table = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()))
            found |= set(table.column("content_sha256").to_pylist())
    return found


def test_the_job_keeps_its_features_in_an_s3_store(small_sample, weights_file):
    images = sorted(small_sample.rglob("*.jpg"))[:9]
    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})

        def upload(paths):
            for image in paths:
                s3.upload_file(str(image), BUCKET, f"images/fruits-360/{image.parent.name}/{image.name}")

        def run(*argvs):
            result = subprocess.run([sys.executable, "-c", RUN_JOB_TWICE, moto.endpoint, str(JARS_DIR), json.dumps(argvs)],
                                    capture_output=True, text=True, env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
            assert result.returncode == 0, result.stderr[-3000:]
            return [json.loads(line) for line in result.stdout.strip().splitlines()[-len(argvs):]]

        upload(images[:6])
        first, = run(job_arguments("run-1", weights_file, "--no-full-recompute", "--no-purge"))
        upload(images[6:])
        deleted = images[0]
        s3.delete_object(Bucket=BUCKET, Key=f"images/fruits-360/{deleted.parent.name}/{deleted.name}")
        second, third = run(job_arguments("run-2", weights_file, "--no-full-recompute", "--no-purge"),
                            job_arguments("run-3", weights_file, "--no-full-recompute", "--purge"))
        hashes = stored_hashes(s3)
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=STORE)["Contents"]]

    assert (first["featurized_now"], first["from_store"], first["root"]) == (6, 0, f"s3://{BUCKET}/{STORE.rstrip('/')}")
    assert (second["featurized_now"], second["from_store"], second["purged"]) == (3, 5, None)
    # The index (fruits.content_index): only the new objects are read, by their keys, not the tree.
    assert (second["images_read"], second["unchanged_not_read"]) == (3, 5)
    assert (third["featurized_now"], third["from_store"], third["purged"]) == (0, 8, 1)
    assert (third["images_read"], third["unchanged_not_read"]) == (0, 8)
    assert len([key for key in keys if f"/{first['key_id']}/index/" in key]) == 1  # after the purge, one snapshot
    assert hashes == {hashlib.sha256(image.read_bytes()).hexdigest() for image in images[1:]}
    assert f"{STORE}{first['key_id']}/key.json" in keys
    # The weights file is known to the store after run 1 (fruits.weights_fingerprints): the later
    # runs' drivers do not load it, and run 2's workers featurize from its bytes.
    assert [run["weights"]["loaded_on_driver"] for run in (first, second, third)] == [True, False, False]
    assert f"{STORE}weights/{first['weights']['sha256']}.json" in keys
    assert not [key for key in keys if "_staging" in key or "_temporary" in key]  # no leftover of a write
