"""`fruits start --dataset NAME` on a dataset that holds nothing, beside one whose name reads the
same but is spelt otherwise (`Pommé` uploaded from Linux, NFC; the same name typed on macOS, NFD;
or with a space after it; a zero-width space is refused as a dataset name already): the refusal names that dataset, code points shown, instead of only
'it is empty'. Against the moto server (S3 keeps a key's bytes as sent, as AWS does)."""
from __future__ import annotations

import unicodedata

import pytest

from tests.cloud.conftest import BUCKET
from tests.cloud.test_no_traceback import staged

NFC, NFD = unicodedata.normalize("NFC", "Pommé"), unicodedata.normalize("NFD", "Pommé")


@pytest.mark.parametrize(("uploaded", "asked"), [(NFC, NFD), (NFD, NFC), ("Kiwi", "Kiwi "), (f"2026/{NFC}", f"2026/{NFD}")],
                         ids=["nfc-asked-nfd", "nfd-asked-nfc", "space-after", "nested"])
def test_start_on_an_empty_look_alike_dataset_names_the_one_there(uploaded, asked, fruits, moto, tmp_path, request):
    parent = f"look-alike-{request.node.callspec.id}"  # the emulator's bucket is shared by the cases
    uploaded, asked = f"{parent}/{uploaded}", f"{parent}/{asked}"
    moto.client("s3").put_object(Bucket=BUCKET, Key=f"images/{uploaded}/apple/1.jpg", Body=b"a photo")

    result = fruits("start", "--dataset", asked, "--weights", staged(fruits, tmp_path))

    assert result.returncode == 1 and result.stdout == "", result.stdout
    error = result.stderr.strip()
    assert error.count("\n") == 0 and "(it is empty)" in error, error
    twin, typed = uploaded.rpartition("/")[2], asked.rpartition("/")[2]
    assert f"{ascii(twin)} beside it reads the same ({ascii(typed)} was typed): pass that --dataset" in error, error
    assert "nothing was started" in error


def test_an_empty_dataset_with_no_look_alike_says_only_that_it_is_empty(fruits, moto, tmp_path):
    moto.client("s3").put_object(Bucket=BUCKET, Key="images/Poire/apple/1.jpg", Body=b"a photo")
    result = fruits("start", "--dataset", "Pomme", "--weights", staged(fruits, tmp_path))
    assert result.returncode == 1
    assert f"no photos under s3://{BUCKET}/images/Pomme/ (it is empty): upload them first" in result.stderr, result.stderr
