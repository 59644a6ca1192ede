"""`fruits start`'s check of the images prefix counts only the photos a run reads (DATASET/LABEL/NAME,
no hidden name, not empty: fruits.input_files.rejection_reason). It counted every .jpg/.jpeg/.png
key, so a dataset holding only a dataset below it (`2026/apples` under `2026`) passed, and the run
started a cluster only to fail with "no images". Against the moto server (its listing pages and
sorts keys as S3 does: API_ListObjectsV2.html, up to 1,000 keys a page, in key order)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fruits.cloud.transfer import require_images
from fruits.errors import FruitsError
from tests.cloud.conftest import BUCKET


@pytest.fixture
def s3(moto, platform_file):
    return moto.client("s3")


def put(s3, *keys: str, body: bytes = b"a photo") -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=BUCKET, Key=key, Body=body), keys))


def test_photos_of_a_dataset_below_are_not_this_dataset_s(s3):
    put(s3, "images/2026/apples/kiwi/1.jpg", "images/2026/apples/kiwi/2.jpg")
    with pytest.raises(FruitsError, match=r"no photos under s3://[^ ]+/images/2026/ \(2 other files: a run reads only "
                                          r"LABEL/NAME photos there, not deeper folders, hidden names or empty files\)"):
        require_images(s3, BUCKET, "images/2026/")
    require_images(s3, BUCKET, "images/2026/apples/")  # the dataset below reads them


def test_photos_outside_a_label_folder_hidden_or_empty_are_not_counted(s3):
    put(s3, "images/mixed/1.jpg", "images/mixed/_tmp/2.jpg", "images/mixed/kiwi/.3.jpg", "images/mixed/kiwi/4.jpg")
    put(s3, "images/mixed/kiwi/5.jpg", body=b"")
    with pytest.raises(FruitsError, match="only 1 photo under .*/images/mixed/: PCA needs at least 2"):
        require_images(s3, BUCKET, "images/mixed/")
    with pytest.raises(FruitsError, match="--k 3 is more than the 2 photos"):
        put(s3, "images/mixed/pear/6.png")
        require_images(s3, BUCKET, "images/mixed/", k=3)


def test_photos_after_a_first_page_of_nested_keys_are_found(s3):
    """Keys come in order: 'a/deep/...' fills the first page, the label folder 'kiwi' comes after."""
    put(s3, *(f"images/big/a/deep/{number:04d}.jpg" for number in range(1000)), "images/big/kiwi/1.jpg", "images/big/kiwi/2.jpg")
    require_images(s3, BUCKET, "images/big/", k=2)
    with pytest.raises(FruitsError, match=r"--k 3 is more than the 2 photos under .*/images/big/"):
        require_images(s3, BUCKET, "images/big/", k=3)
