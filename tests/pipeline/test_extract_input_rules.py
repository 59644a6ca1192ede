"""Step 1 on a folder with every awkward kind of entry (a ':' in a name, symlink loops, hidden and
'_' names, empty files, broken links, images outside label folders, a 16-bit PNG): the run goes
on, each image is featurized once, every other entry is in rejected/ with its reason, and the
counts add up. Also: a file that goes away after the listing is counted, not lost."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from fruits.errors import FruitsError

from fruits.images import list_input, read_image_files, read_images, split_by_listing, unread_files
from fruits.steps.extract_step import ExtractArgs, run_extract

from .images import awkward_input, copy_subset

pytestmark = pytest.mark.slow


def test_every_entry_is_featurized_once_or_rejected_with_its_reason(spark, sample_images, weights_file, tmp_path):
    images = tmp_path / "images"
    expected = awkward_input(images, sample_images, tmp_path / "elsewhere")

    summary = run_extract(spark, ExtractArgs(images=str(images), output=str(tmp_path / "run"), weights=str(weights_file)))

    root = f"file:{images}/"
    features = spark.read.parquet(str(tmp_path / "run" / "features")).collect()
    featurized = [row.path.removeprefix(root) for row in features]
    assert sorted(featurized) == sorted(entry for entry, reason in expected.items() if reason is None)  # once each
    assert {row.path.removeprefix(root): row.label for row in features} == {entry: entry.split("/")[0] for entry in featurized}
    rejected = spark.read.parquet(str(tmp_path / "run" / "rejected")).collect()
    reasons = {row.path.removeprefix(root): row.reason.split(":")[0] for row in rejected}
    assert reasons == {entry: reason for entry, reason in expected.items() if reason is not None}
    assert summary["files_found"] == len(expected) == summary["featurized"] + summary["rejected"]
    assert summary["rejected_by_reason"] == dict(Counter(reason for reason in expected.values() if reason))


def test_the_notebooks_one_dataframe_view_follows_the_same_rules(spark, sample_images, tmp_path):
    images = tmp_path / "images"
    expected = awkward_input(images, sample_images, tmp_path / "elsewhere")
    readable, rejected = split_by_listing(read_image_files(spark, str(images)))
    root = f"file:{images}/"
    assert sorted(row.path.removeprefix(root) for row in readable.select("path").collect()) == sorted(
        entry for entry, reason in expected.items() if reason is None)
    assert {row.path.removeprefix(root): row.reason.split(":")[0] for row in rejected.collect()} == {
        entry: reason for entry, reason in expected.items() if reason is not None}


@pytest.mark.parametrize("removed", ["before reading", "while reading"])
def test_a_file_removed_after_the_listing_is_counted_as_unreadable(spark, sample_images, tmp_path, removed):
    images = copy_subset(sample_images, tmp_path / "images", per_class=2, classes=2)
    banana = images / "Banana 1"
    for odd_name in ("br[1].jpg", "with space %20.jpg"):  # glob characters and escapes are read literally
        (banana / odd_name).write_bytes(next(banana.iterdir()).read_bytes())
    (images / "ripe=yes").mkdir()  # not taken for a partition column
    (images / "ripe=yes" / "1.jpg").write_bytes(next(banana.iterdir()).read_bytes())
    listing = list_input(spark, str(images))
    victim = listing.accepted[0]
    if removed == "before reading":
        (images / victim.relative).unlink()
    contents = read_images(spark, listing)
    if removed == "while reading":
        (images / victim.relative).unlink()

    read = {row.path: (row.label, row.size) for row in contents.select("path", "label", "size").collect()}
    others = listing.accepted[1:]
    assert read == {f"file:{images}/{file.relative}": (file.label, file.size) for file in others}
    lost = unread_files(listing, contents)
    assert [(row.path, row.label, row.reason.split(":")[0]) for row in lost] == [
        (f"file:{images}/{victim.relative}", victim.label, "unreadable")]


def test_an_images_folder_whose_own_path_is_not_utf8_is_one_clear_error(spark, tmp_path):
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/fotos-\xe9t\xe9")  # Latin-1 bytes
    os.makedirs(os.path.join(folder, "Apple"))
    with open(os.path.join(folder, "Apple", "1.jpg"), "wb") as image:
        image.write(b"\xff\xd8 a photo")
    with pytest.raises(FruitsError, match="not valid UTF-8"):
        read_images(spark, list_input(spark, folder))
