"""The input rules on `s3://`, as the EMR step meets them (moto server through S3A): keys that
another tool put there, with hidden, '_', ':' or glob-character names, empty objects, keys
outside label folders or nested deeper, are classified as for a local folder, and the accepted
ones are read byte for byte, through one listing of the tree and by their keys alike."""
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

LIST_AND_READ = textwrap.dedent("""
    import json, sys
    from fruits.images import list_input, listing_rejections, read_images
    from fruits.s3a import s3a_conf
    from fruits.session import build_session
    endpoint, jars, images = sys.argv[1:4]
    spark = build_session("s3-listing-test", master="local[1]", extra_conf=s3a_conf(endpoint, jars))
    try:
        listing = list_input(spark, images)
        read = read_images(spark, listing).selectExpr("path", "label", "length(content) AS bytes").collect()
        # As a run reads the few files its feature store's index does not know: by their keys.
        by_keys = read_images(spark, listing, whole_tree=False).selectExpr("path", "label", "length(content) AS bytes").collect()
        print(json.dumps({"root": listing.root,
                          "rejected": {row.path: row.reason for row in listing_rejections(listing)},
                          "read": {row.path: [row.label, row.bytes] for row in read},
                          "read_by_keys": {row.path: [row.label, row.bytes] for row in by_keys},
                          "stamps": sorted({file.stamp.isdigit() for file in listing.accepted})}))
    finally:
        spark.stop()
""")


def test_s3_keys_follow_the_same_rules_and_accepted_ones_are_read(sample_images, tmp_path):
    photo = next((sample_images / "Kiwi 1").glob("*.jpg")).read_bytes()
    objects = {  # key under images/ -> (bytes, expected reason category or None: read)
        "Apple/1.jpg": (photo, None),
        "Apple/br[1] {x}.jpg": (photo, None),
        "Apple/ü %20.jpg": (photo, None),
        "Kiwi/1.JPEG": (photo, None),
        "Apple/a:b.jpg": (photo, "unsupported name"),
        "Apple/_draft.jpg": (photo, "name starts with '_' or '.'"),
        "Apple/.hidden.jpg": (photo, "name starts with '_' or '.'"),
        "_Unsorted/x.jpg": (photo, "name starts with '_' or '.'"),
        "Apple/empty.jpg": (b"", "empty file"),
        "loose.jpg": (photo, "not in a label folder"),
        "Kiwi/close-ups/1.jpg": (photo, "nested folder"),
        "Kiwi/notes.txt": (b"shopping list", "unsupported file type (expected .jpg, .jpeg or .png)"),
    }
    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="fruits-listing", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        for key, (data, _) in objects.items():
            s3.put_object(Bucket="fruits-listing", Key=f"images/{key}", Body=data)
        s3.put_object(Bucket="fruits-listing", Key="images/Kiwi/folder-marker/", Body=b"")  # a folder, not a file
        result = subprocess.run([sys.executable, "-c", LIST_AND_READ, moto.endpoint, str(JARS_DIR), "s3://fruits-listing/images/"],
                                capture_output=True, text=True, env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})

    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    root = "s3://fruits-listing/images/"
    assert found["root"] + "/" == root
    assert {path.removeprefix(root): reason.split(":")[0] for path, reason in found["rejected"].items()} == {
        key: reason for key, (_, reason) in objects.items() if reason is not None}
    assert {path.removeprefix(root): tuple(label_and_size) for path, label_and_size in found["read"].items()} == {
        key: (key.split("/")[0], len(data)) for key, (data, reason) in objects.items() if reason is None}
    assert found["read_by_keys"] == found["read"]
    assert found["stamps"] == [True]  # every accepted object has its modification time as its stamp
