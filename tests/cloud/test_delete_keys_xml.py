"""`upload --delete-missing` deletes a photo whose key holds a character XML 1.0 cannot carry (an
escape, a form feed): DeleteObjects sends its keys in an XML body, botocore writes such a
character raw, and the whole batch was refused (moto answered 500, as its parser did on the
malformed body), so the photo could never leave the bucket. The emulator does not reproduce S3's
own answer to that body; it does parse the XML, which is what failed."""
from __future__ import annotations

import pytest

from fruits.cloud.images_upload import delete_keys
from tests.cloud.conftest import BUCKET

pytestmark = pytest.mark.slow  # the emulator, as a server

KEYS = ["images/d/apple/\x1b[2Jc.jpg", "images/d/apple/form\x0cfeed.jpg", "images/d/apple/plain.jpg", "images/d/pear/e\r.jpg"]


def test_keys_xml_cannot_carry_are_deleted_with_the_rest(moto, platform_file):
    s3 = moto.client("s3")
    for key in [*KEYS, "images/d/apple/kept.jpg"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"a photo")
    assert delete_keys(s3, BUCKET, KEYS) == len(KEYS)
    left = [entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET, Prefix="images/d/", EncodingType="url")["Contents"]]
    assert left == ["images/d/apple/kept.jpg"]
