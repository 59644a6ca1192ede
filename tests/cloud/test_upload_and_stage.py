"""`fruits upload` and `fruits stage` against the moto server: what lands in the bucket, how,
and what is skipped the second time."""
from __future__ import annotations

import json
import shutil

from tests.cloud.conftest import BUCKET, edited_platform
from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES


def photos(tmp_path, per_class=3):
    folder = tmp_path / "photos"
    for label in sorted(p for p in SAMPLE_IMAGES.iterdir() if p.is_dir())[:2]:
        (folder / label.name).mkdir(parents=True)
        for image in sorted(label.iterdir())[:per_class]:
            shutil.copy(image, folder / label.name / image.name)
    return folder


def test_upload_encrypts_with_the_key_and_skips_what_is_already_there(fruits, moto, platform_file, tmp_path):
    folder = photos(tmp_path)
    first = fruits("upload", str(folder), "--dataset", "upload-test")
    assert first.returncode == 0, first.stderr
    assert "6 images in 2 classes" in first.stdout and "6 uploaded" in first.stdout
    s3 = moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="images/upload-test/")["Contents"]]
    assert len(keys) == 6
    head = s3.head_object(Bucket=BUCKET, Key=keys[0])
    key_arn = json.loads(platform_file.read_text())["kms_key_arn"]["value"]
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn

    again = fruits("upload", str(folder), "--dataset", "upload-test")
    assert again.returncode == 0 and "0 uploaded" in again.stdout and "6 already there" in again.stdout

    changed = next(folder.glob("*/*"))
    changed.write_bytes(changed.read_bytes() + b"\0")
    third = fruits("upload", str(folder), "--dataset", "upload-test")
    assert "1 uploaded" in third.stdout and "5 already there" in third.stdout


def test_upload_sends_only_what_the_pipeline_reads_and_says_what_it_left(fruits, moto, tmp_path):
    folder = photos(tmp_path, per_class=1)
    (folder / "notes.txt").write_text("not in a label folder: not even listed")
    label = next(p for p in folder.iterdir() if p.is_dir())
    (label / "scan.bmp").write_bytes(b"BM")
    (label / "README").write_text("x")
    result = fruits("upload", str(folder), "--dataset", "upload-suffixes")
    assert result.returncode == 0, result.stderr
    assert "2 images in 2 classes" in result.stdout
    assert "2 other files not sent" in result.stderr and ".bmp (1)" in result.stderr and "(no suffix) (1)" in result.stderr
    keys = [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="images/upload-suffixes/")["Contents"]]
    assert len(keys) == 2 and all(key.endswith(".jpg") for key in keys)


def test_upload_refuses_an_empty_folder(fruits, tmp_path):
    (tmp_path / "empty" / "apple").mkdir(parents=True)
    result = fruits("upload", str(tmp_path / "empty"))
    assert result.returncode == 1 and "no images in" in result.stderr


def test_a_missing_bucket_is_one_clear_line(fruits, platform_file, tmp_path):
    platform = edited_platform(platform_file, tmp_path, bucket_name="fruits-no-such-bucket")
    result = fruits("upload", str(photos(tmp_path)), platform=platform)
    assert result.returncode == 1 and "the bucket does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_region_outside_the_eu_is_refused_before_any_aws_call(fruits, platform_file, tmp_path):
    platform = edited_platform(platform_file, tmp_path, region="us-east-1")
    # Nothing listens on this endpoint: had the CLI called AWS, the error would be a connection one.
    result = fruits("upload", str(photos(tmp_path)), platform=platform, endpoint="http://127.0.0.1:9")
    assert result.returncode == 1 and "outside the EU" in result.stderr


def test_no_credentials_is_one_clear_line(fruits):
    result = fruits("runs", credentials=False)
    assert result.returncode == 1 and "no AWS credentials" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_platform_file_says_how_to_make_one(fruits, tmp_path):
    result = fruits("runs", platform=tmp_path / "nowhere.json")
    assert result.returncode == 1 and "terraform" in result.stderr and "output -json" in result.stderr


def test_stage_uploads_under_a_content_hash_and_marks_it_complete_last(fruits, moto, tmp_path):
    weights = tmp_path / "weights.h5"
    weights.write_bytes(b"not really weights, but staged like them")
    first = fruits("stage", "--weights", str(weights))
    assert first.returncode == 0, first.stderr
    prefix = first.stdout.split(f"s3://{BUCKET}/")[1].split()[0]
    assert prefix.startswith("artifacts/") and len(prefix.split("/")[1]) == 12
    s3 = moto.client("s3")
    keys = {o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]}
    assert {"fruits.zip", "jobs/extract_features.py", "jobs/reduce_dimensions.py", "bootstrap/install-python-deps.sh",
            "requirements/cluster.lock", "weights/weights.h5", "STAGED.json"} == keys
    marker = json.loads(s3.get_object(Bucket=BUCKET, Key=prefix + "STAGED.json")["Body"].read())
    assert set(marker["files"]) == keys - {"STAGED.json"}

    again = fruits("stage", "--weights", str(weights))
    assert prefix in again.stdout and "0 uploaded" in again.stdout

    weights.write_bytes(b"other weights")
    other = fruits("stage", "--weights", str(weights))
    assert prefix not in other.stdout, "different weights must give a different prefix"
