"""`fruits upload` and `fruits stage` against the moto server: what lands in the bucket, how,
and what is skipped the second time. `fruits stage` gets a wheelhouse of tiny stand-ins for
the lock's wheels (FRUITS_WHEELHOUSE), and a pip that can reach nothing: it downloads nothing."""
from __future__ import annotations

import json
import shutil

import pytest

from fruits.cloud.platform import load_platform
from fruits.cloud.wheelhouse import MANIFEST, TARGET, lock_digest, open_wheelhouse, stage_wheelhouse
from fruits.layout import DEFAULT_LAYOUT
from tests.bootstrap.wheels import isolate_pip, small_wheelhouse, wheelhouse_for_lock
from tests.cloud.conftest import BUCKET, edited_platform, weights_variant
from tests.conftest import PROJECT_ROOT
from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES

LOCK = PROJECT_ROOT / "requirements" / "cluster.lock"
WHEELHOUSE_PREFIX = DEFAULT_LAYOUT.wheelhouse_prefix(TARGET, lock_digest(LOCK))


@pytest.fixture(scope="module")
def lock_wheelhouse(tmp_path_factory):
    return wheelhouse_for_lock(tmp_path_factory.mktemp("wheelhouse"), LOCK)


@pytest.fixture(autouse=True)
def stage_downloads_nothing(lock_wheelhouse, monkeypatch):
    isolate_pip(monkeypatch, FRUITS_WHEELHOUSE=str(lock_wheelhouse))


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


def test_photos_the_folder_lacks_are_refused_kept_or_deleted_never_silently_read(fruits, moto, tmp_path):
    """A photo moved to another fruit: the bucket would hold it under both, and the cloud run read it
    as both fruits while a local run of the folder sees it once."""
    folder, s3 = photos(tmp_path), moto.client("s3")
    prefix = "images/relabel-test/"

    def keys() -> set[str]:
        return {o["Key"].removeprefix(prefix) for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}

    assert (first := fruits("upload", str(folder), "--dataset", "relabel-test")).returncode == 0, first.stderr
    first_label, second_label = sorted(path.name for path in folder.iterdir())
    moved = next((folder / second_label).iterdir())
    moved.rename(folder / first_label / moved.name)
    before = keys()

    refused = fruits("upload", str(folder), "--dataset", "relabel-test")
    assert refused.returncode == 1 and f"1 photos under s3://{BUCKET}/{prefix} are not in {folder}" in refused.stderr, refused.stderr
    assert f"{second_label}/{moved.name}" in refused.stderr and "--delete-missing" in refused.stderr
    assert keys() == before  # nothing sent

    kept = fruits("upload", str(folder), "--dataset", "relabel-test", "--keep-missing")
    assert kept.returncode == 0 and "1 photos the folder lacks kept" in kept.stdout, kept.stderr
    assert {f"{first_label}/{moved.name}", f"{second_label}/{moved.name}"} <= keys()

    deleted = fruits("upload", str(folder), "--dataset", "relabel-test", "--delete-missing")
    assert deleted.returncode == 0 and "1 photos the folder lacks deleted" in deleted.stdout, deleted.stderr
    assert keys() == {f"{path.parent.name}/{path.name}" for path in folder.glob("*/*")}
    assert fruits("upload", str(folder), "--keep-missing", "--delete-missing").returncode == 2  # one or the other


def test_a_dataset_s_upload_neither_refuses_for_nor_deletes_the_photos_of_a_dataset_below_it(fruits, moto, tmp_path):
    """Datasets may nest (`2026` and `2026/apples`); a run of `2026` rejects `apples/LABEL/x.jpg` as
    a nested folder, so those are not its photos: --delete-missing deleted them all, and without
    it the upload was refused for them."""
    folder, s3 = photos(tmp_path), moto.client("s3")

    def keys(prefix: str) -> set[str]:
        return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}

    assert (inner := fruits("upload", str(folder), "--dataset", "nest-test/apples")).returncode == 0, inner.stderr
    apples = keys("images/nest-test/apples/")
    assert len(apples) == 6
    outer = fruits("upload", str(folder), "--dataset", "nest-test")
    assert outer.returncode == 0 and "6 uploaded" in outer.stdout, outer.stderr
    deleting = fruits("upload", str(folder), "--dataset", "nest-test", "--delete-missing")
    assert deleting.returncode == 0 and "deleted" not in deleting.stdout, deleting.stderr
    assert keys("images/nest-test/apples/") == apples


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


def test_upload_names_each_photo_a_run_would_reject_instead_of_leaving_it_out_silently(fruits, moto, tmp_path):
    folder = photos(tmp_path, per_class=1)
    label = next(p for p in folder.iterdir() if p.is_dir())
    image = next(label.glob("*.jpg")).read_bytes()
    for name in ("co:lon.jpg", "_x.jpg", "_two\nlines.jpg"):  # (moto refuses a newline in a key it would store)
        (label / name).write_bytes(image)
    (label / "empty.jpg").write_bytes(b"")
    (folder / "top.jpg").write_bytes(image)
    result = fruits("upload", str(folder), "--dataset", "upload-refused")
    assert result.returncode == 0, result.stderr
    assert "2 images in 2 classes" in result.stdout
    lines = result.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if "not sent" in line)
    assert lines[first].startswith("5 files not sent, as a run would reject them: ")
    named = sorted(line.split(": ")[0].strip() for line in lines[first + 1:])
    assert named == sorted([f"{label.name}/co:lon.jpg", f"{label.name}/_x.jpg", f"{label.name}/_two\\nlines.jpg",
                            f"{label.name}/empty.jpg", "top.jpg"])  # the newline shown as \n: one line each
    assert len(moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="images/upload-refused/")["Contents"]) == 2


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


def test_stage_uploads_under_a_content_hash_and_marks_it_complete_last(fruits, moto, tmp_path, lock_wheelhouse):
    weights = weights_variant(tmp_path / "weights.h5")
    first = fruits("stage", "--weights", str(weights))
    assert first.returncode == 0, first.stderr
    prefix = first.stdout.split(f"s3://{BUCKET}/")[1].split()[0]
    assert prefix.startswith(DEFAULT_LAYOUT.artifacts) and len(prefix.split("/")[1]) == 12
    s3 = moto.client("s3")
    keys = {o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]}
    assert {"fruits.zip", "jobs/extract_features.py", "jobs/reduce_dimensions.py", "bootstrap/install-python-deps.sh",
            "requirements/cluster.lock", "weights/weights.h5", "STAGED.json"} == keys
    marker = json.loads(s3.get_object(Bucket=BUCKET, Key=prefix + "STAGED.json")["Body"].read())
    assert set(marker["files"]) == keys - {"STAGED.json"}
    # the wheelhouse went first, under the lock's hash, its manifest last (STAGED.json names it)
    assert marker["wheelhouse"] == WHEELHOUSE_PREFIX and f"-> s3://{BUCKET}/{WHEELHOUSE_PREFIX}" in first.stdout
    assert s3.get_object(Bucket=BUCKET, Key=WHEELHOUSE_PREFIX + MANIFEST)["Body"].read() == (lock_wheelhouse / MANIFEST).read_bytes()
    for name in open_wheelhouse(lock_wheelhouse, LOCK).files:
        stored = s3.get_object(Bucket=BUCKET, Key=WHEELHOUSE_PREFIX + name)
        assert stored["Body"].read() == (lock_wheelhouse / name).read_bytes() and stored["ServerSideEncryption"] == "aws:kms"

    again = fruits("stage", "--weights", str(weights))
    assert prefix in again.stdout and "0 uploaded" in again.stdout
    assert f"-> s3://{BUCKET}/{WHEELHOUSE_PREFIX} (already there)" in again.stdout

    weights_variant(weights, variant=1)
    other = fruits("stage", "--weights", str(weights))
    assert prefix not in other.stdout, "different weights must give a different prefix"


def test_a_wheelhouse_is_uploaded_once_under_its_locks_hash_with_its_manifest_last(moto, platform_file, tmp_path):
    platform, s3 = load_platform(str(platform_file)), moto.client("s3")
    small = small_wheelhouse(tmp_path, {"fruits-probe": "1.0", "fruits-other": "2.0"})
    house = open_wheelhouse(small.folder, small.lock)
    prefix = platform.layout.wheelhouse_prefix(TARGET, lock_digest(small.lock))

    first = stage_wheelhouse(s3, platform, house, show=False)
    assert first["uri"] == f"s3://{BUCKET}/{prefix}"
    stored = {o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]}
    assert first["uploaded"] == 3 and stored == {*house.files, MANIFEST}
    assert s3.get_object(Bucket=BUCKET, Key=prefix + MANIFEST)["Body"].read() == (small.folder / MANIFEST).read_bytes()

    second = stage_wheelhouse(s3, platform, house, show=False)
    assert second["already_there"] and second["uploaded"] == 0

    s3.delete_object(Bucket=BUCKET, Key=prefix + MANIFEST)  # a stage stopped before its last write
    resumed = stage_wheelhouse(s3, platform, house, show=False)
    assert not resumed["already_there"] and resumed["uploaded"] == 0 and resumed["skipped"] == 3
    assert s3.get_object(Bucket=BUCKET, Key=prefix + MANIFEST)["Body"].read() == (small.folder / MANIFEST).read_bytes()

    s3.delete_object(Bucket=BUCKET, Key=prefix + "fruits_other-2.0-py3-none-any.whl")  # the manifest alone proves nothing
    repaired = stage_wheelhouse(s3, platform, house, show=False)
    assert not repaired["already_there"] and repaired["uploaded"] == 1

    changed = small_wheelhouse(tmp_path, {"fruits-probe": "1.1", "fruits-other": "2.0"}, name="changed")
    other = stage_wheelhouse(s3, platform, open_wheelhouse(changed.folder, changed.lock), show=False)
    assert other["uri"] == f"s3://{BUCKET}/{platform.layout.wheelhouse_prefix(TARGET, lock_digest(changed.lock))}" != first["uri"]
    assert other["uploaded"] == 3


def test_stage_refuses_a_wheelhouse_built_for_another_lock_and_uploads_nothing(fruits, moto, tmp_path, staged_weights):
    def keys():
        pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=DEFAULT_LAYOUT.artifacts)
        return {(o["Key"], o["ETag"]) for page in pages for o in page.get("Contents", [])}
    before = keys()
    other = small_wheelhouse(tmp_path, {"fruits-probe": "1.0"})
    result = fruits("stage", "--weights", str(staged_weights), "--wheelhouse", str(other.folder))
    assert result.returncode == 1 and f"the wheelhouse {other.folder} was built for another lock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert keys() == before


def test_start_names_the_wheelhouse_and_refuses_code_whose_wheelhouse_is_gone(fruits, moto, staged_weights):
    staged = fruits("stage", "--weights", str(staged_weights), "--quiet")
    assert staged.returncode == 0, staged.stderr
    dry = fruits("start", "--dry-run", "--weights", str(staged_weights))
    assert json.loads(dry.stdout)["wheelhouse_uri"] == f"s3://{BUCKET}/{WHEELHOUSE_PREFIX}"

    moto.client("s3").delete_object(Bucket=BUCKET, Key=WHEELHOUSE_PREFIX + MANIFEST)
    result = fruits("start", "--weights", str(staged_weights))
    assert result.returncode == 1 and "run `fruits stage` first" in result.stderr
    assert fruits("stage", "--weights", str(staged_weights), "--quiet").returncode == 0  # stage puts it back
