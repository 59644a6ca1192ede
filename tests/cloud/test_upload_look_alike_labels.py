"""`fruits upload --keep-missing` adds a folder to the photos already in the dataset: a label
there and a label of the folder that read the same (`Pommé` sent from Linux, NFC; the same name
typed on macOS, NFD) would be two fruits, which the next cloud run refuses only once its cluster
has started. Upload refuses before sending anything. Against the moto server (S3 keeps a key's
bytes as sent, as AWS does: it does not normalise Unicode either)."""
from __future__ import annotations

import shutil
import unicodedata

import pytest

from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES
from tests.cloud.conftest import BUCKET


def one_label(folder, label: str):
    photos = folder / label
    photos.mkdir(parents=True)
    for source in sorted(sorted(SAMPLE_IMAGES.iterdir())[0].iterdir())[:2]:
        shutil.copy(source, photos / source.name)
    return folder


def labels_under(moto, prefix: str) -> set[str]:
    pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix):].split("/")[0] for page in pages for item in page.get("Contents", [])}


@pytest.mark.parametrize(("there", "added"), [
    (unicodedata.normalize("NFC", "Pommé"), unicodedata.normalize("NFD", "Pommé")),
    (unicodedata.normalize("NFD", "Pommé"), unicodedata.normalize("NFC", "Pommé")),
    ("Kiwi", "Kiwi\u200b"),
])
def test_keep_missing_refuses_a_label_that_reads_as_one_already_there(there, added, fruits, moto, tmp_path):
    dataset = f"look-alike-{len(added.encode())}-{len(there.encode())}"
    assert fruits("upload", str(one_label(tmp_path / "first", there)), "--dataset", dataset, "--quiet").returncode == 0

    result = fruits("upload", str(one_label(tmp_path / "second", added)), "--dataset", dataset, "--quiet", "--keep-missing")

    assert result.returncode == 1 and result.stdout == "", result.stdout
    error = result.stderr.strip()
    assert error.count("\n") == 0 and "would be two fruits that read the same" in error, error
    assert ascii(there) in error and ascii(added) in error and "nothing sent" in error
    assert labels_under(moto, f"images/{dataset}/") == {there}


def test_delete_missing_replaces_the_label_spelling(fruits, moto, tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "Pommé"), unicodedata.normalize("NFD", "Pommé")
    assert fruits("upload", str(one_label(tmp_path / "first", nfc)), "--dataset", "respelled", "--quiet").returncode == 0
    result = fruits("upload", str(one_label(tmp_path / "second", nfd)), "--dataset", "respelled", "--quiet", "--delete-missing")
    assert result.returncode == 0, result.stderr
    assert labels_under(moto, "images/respelled/") == {nfd}
