"""`fruits upload` follows the pipeline's input rules (fruits.input_files): it sends exactly the
images a local run featurizes, under the same labels, and accounts for every other entry with
the reason the pipeline gives, so that a local run and a cloud run of one folder see the same
images. Against the moto server."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from fruits.cloud.images_upload import upload_images
from fruits.cloud.platform import load_platform
from fruits.errors import FruitsError
from fruits.layout import DEFAULT_PREFIXES
from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES
from tests.cloud.conftest import BUCKET, edited_platform
from tests.pipeline.images import awkward_input, copy_subset, without_root_privileges


def keys_under(s3, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"][len(prefix):] for page in pages for item in page.get("Contents", []))


def test_upload_sends_the_images_a_local_run_featurizes_and_gives_a_reason_for_the_rest(moto, platform_file, tmp_path):
    folder = tmp_path / "photos"
    expected = awkward_input(folder, SAMPLE_IMAGES, tmp_path / "elsewhere")
    s3 = moto.client("s3")

    summary = upload_images(s3, load_platform(str(platform_file)), folder, "upload-rules", show=False)

    assert keys_under(s3, "images/upload-rules/") == sorted(entry for entry, reason in expected.items() if reason is None)
    assert (summary["images"], summary["labels"]) == (7, 3)  # Apple, Kiwi and the linked folder Fav
    assert {relative: reason.split(":")[0] for relative, reason in summary["not_sent"]} == {
        entry: reason for entry, reason in expected.items() if reason is not None}
    assert summary["not_sent_by_reason"] == dict(Counter(reason for reason in expected.values() if reason))
    assert [path.name for path in summary["ignored"]] == ["notes.txt"]  # the ones `fruits upload` lists by suffix


def test_a_file_the_user_cannot_read_is_not_sent_and_the_upload_goes_on(moto, platform_file, tmp_path):
    folder = copy_subset(SAMPLE_IMAGES, tmp_path / "photos", per_class=2, classes=2)
    locked = folder / "Banana 1" / "locked.jpg"
    shutil.copy(next((folder / "Banana 1").iterdir()), locked)
    locked.chmod(0)
    environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": moto.endpoint, "FRUITS_PLATFORM": str(platform_file),
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    result = subprocess.run(without_root_privileges([sys.executable, "-m", "fruits", "upload", str(folder),
                                                     "--dataset", "upload-locked", "--quiet"]),
                            capture_output=True, text=True, env=environment, timeout=180)

    assert result.returncode == 0, result.stderr
    assert "4 images in 2 classes" in result.stdout and "Traceback" not in result.stderr
    assert keys_under(moto.client("s3"), "images/upload-locked/") == sorted(
        f"{path.parent.name}/{path.name}" for path in folder.glob("*/*.jpg") if path != locked)


def test_an_image_whose_key_would_pass_s3s_1024_bytes_stops_the_upload_before_anything_is_sent(moto, platform_file, tmp_path):
    """S3 refuses a key over 1,024 bytes of UTF-8 (docs.aws.amazon.com/AmazonS3/latest/userguide/
    object-keys.html); moto stores it. This key is 827 characters but 1,047 bytes ('é' is 2 bytes).
    --dataset is at most 255 bytes (fruits.layout) and a file name on most file systems too, so only
    a platform's long images prefix (here 401 bytes) makes such a key."""
    folder = copy_subset(SAMPLE_IMAGES, tmp_path / "photos", per_class=1, classes=1)
    label = folder / ("é" * 120)
    label.mkdir()
    shutil.copy(next(folder.glob("*/*.jpg")), label / ("é" * 100 + ".jpg"))
    dataset, images = "x" * 200, "i" * 400 + "/"
    platform = edited_platform(platform_file, tmp_path, prefixes={**DEFAULT_PREFIXES, "images": images})

    with pytest.raises(FruitsError, match=r"^1 images would get S3 keys longer than S3's 1024 bytes \(the longest: 1047 bytes, "
                                          r".*nothing sent$"):
        upload_images(moto.client("s3"), load_platform(str(platform)), folder, dataset, show=False)
    assert keys_under(moto.client("s3"), f"{images}{dataset}/") == []


def test_a_photo_rewritten_while_it_is_uploaded_is_stored_as_it_was_hashed(moto, platform_file, tmp_path):
    """The stored SHA-256 decides whether a later upload skips the file: it must be the digest of
    the bytes stored. Here the photo is rewritten just before its PutObject is sent."""
    import hashlib

    from fruits.cloud.transfer import SHA256_METADATA, upload_files

    photo = tmp_path / "apple.jpg"
    photo.write_bytes(b"the photo as it was hashed")
    s3 = moto.client("s3")

    def rewrite(**_) -> None:  # a before-call handler that returns something replaces the call
        photo.write_bytes(b"the photo rewritten meanwhile")

    s3.meta.events.register("before-call.s3.PutObject", rewrite)
    upload_files(s3, load_platform(str(platform_file)), [(photo, "images/rewritten/apple/1.jpg")], show=False)
    stored = s3.get_object(Bucket=BUCKET, Key="images/rewritten/apple/1.jpg")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == stored["Metadata"][SHA256_METADATA]


def test_a_large_file_is_streamed_with_its_digest_for_s3_to_check(moto, platform_file, tmp_path, monkeypatch):
    """Above IN_MEMORY_BYTES the file is streamed: S3 refuses a body whose SHA-256 is not the
    ChecksumSHA256 sent (checking-object-integrity.html). moto does not check it: the test shows
    that the header goes with the digest the metadata records."""
    import base64

    from fruits.cloud import transfer

    monkeypatch.setattr(transfer, "IN_MEMORY_BYTES", 4)
    wheel = tmp_path / "big.whl"
    wheel.write_bytes(b"more than four bytes")
    sent = []
    s3 = moto.client("s3")
    s3.meta.events.register("provide-client-params.s3.PutObject", lambda params, **_: sent.append(dict(params)))
    transfer.upload_files(s3, load_platform(str(platform_file)), [(wheel, "artifacts/streamed/big.whl")], show=False)
    [params] = sent
    assert not isinstance(params["Body"], bytes)  # a file handle: streamed
    assert base64.b64decode(params["ChecksumSHA256"]).hex() == params["Metadata"][transfer.SHA256_METADATA]
