"""fruits.content_index on its own, through Hadoop's local filesystem: the newest snapshot is the
one read and holds its run's input only, a writer removes the older ones (a purge also killed
writes' staged files), a snapshot removed while a reader opens it is a cache miss, and rows that
cannot be right (no stamp, a hash that is not one) are never used."""
from __future__ import annotations

import io
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fruits import content_index
from fruits.content_index import INDEX, SCHEMA, Indexed, read_index, split_listing, write_index
from fruits.input_files import list_local_folder, local_stamp
from fruits.layout import InvalidName
from fruits.storage import Storage

DIGEST = "b" * 64


def snapshot_names(store) -> list[str]:
    return sorted(path.name for path in (store / INDEX).iterdir() if not path.name.startswith((".", "_")))


def test_the_newest_snapshot_is_read_and_the_older_ones_removed(spark, tmp_path):
    storage, store = Storage(spark), f"file:{tmp_path}"
    assert read_index(storage, store) == ({}, "no index yet")
    write_index(storage, store, {"file:/a/x.jpg": Indexed(1, "10/11", DIGEST, 5)}, "run-1")
    write_index(storage, store, {"file:/a/y.jpg": Indexed(2, "20/21", DIGEST, 6)}, "run-2")
    index, note = read_index(storage, store)
    assert note is None and index == {"file:/a/y.jpg": Indexed(2, "20/21", DIGEST, 6)}  # run 2's input only
    assert len(snapshot_names(tmp_path)) == 1 and snapshot_names(tmp_path)[0].endswith("-run-2.parquet")

    (tmp_path / INDEX / "_staging-20261129T000000000000Z-run-0.parquet-1a2b3c4d").write_bytes(b"PAR1")  # a killed write
    write_index(storage, store, {"file:/a/y.jpg": Indexed(2, "20/21", DIGEST, 6)}, "run-3")
    assert len(list((tmp_path / INDEX).glob("_staging-*"))) == 1  # left to the vacuum, days later
    write_index(storage, store, {"file:/a/y.jpg": Indexed(2, "20/21", DIGEST, 6)}, "run-4", purge=True)
    assert not list((tmp_path / INDEX).glob("_staging-*")) and snapshot_names(tmp_path)[0].endswith("-run-4.parquet")


def test_a_snapshot_removed_while_it_is_read_is_a_cache_miss(spark, tmp_path, monkeypatch):
    storage, store = Storage(spark), f"file:{tmp_path}"
    write_index(storage, store, {"file:/a/x.jpg": Indexed(1, "10/11", DIGEST, 5)}, "run-1")
    listed = content_index._snapshots(storage, store)
    for path in (tmp_path / INDEX).iterdir():
        path.unlink()  # another run's write removed it after this one listed it
    monkeypatch.setattr(content_index, "_snapshots", lambda *args: listed)
    index, note = read_index(storage, store)
    assert index == {} and note.startswith("index snapshot gone while read, every image read")


def test_rows_that_cannot_be_right_are_not_used(spark, tmp_path):
    rows = [("file:/a/good.jpg", 1, "10/11", DIGEST, 5), ("file:/a/no-stamp.jpg", 1, "", DIGEST, 5),
            ("file:/a/not-a-hash.jpg", 1, "10/11", "B" * 64, 5), ("file:/a/short.jpg", 1, "10/11", "b" * 63, 5),
            (None, 1, "10/11", DIGEST, 5), ("file:/a/no-time.jpg", 1, "10/11", DIGEST, None)]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([dict(zip(SCHEMA.names, row)) for row in rows], schema=SCHEMA), buffer)
    (tmp_path / INDEX).mkdir()
    (tmp_path / INDEX / "20261129T000000000000Z-run-1.parquet").write_bytes(buffer.getvalue())
    index, note = read_index(Storage(spark), f"file:{tmp_path}")
    assert note is None and list(index) == ["file:/a/good.jpg"]


@pytest.mark.parametrize("batch_name", ["../escape", "a/b", "with\nnewline", ""])
def test_a_snapshot_name_is_a_run_id(spark, tmp_path, batch_name):
    with pytest.raises(InvalidName):
        write_index(Storage(spark), f"file:{tmp_path}", {}, batch_name)
    assert not (tmp_path / INDEX).exists() or snapshot_names(tmp_path) == []


def test_a_symlink_pointed_at_another_file_of_the_same_size_and_times_is_read_again(tmp_path):
    """A stamp of times alone called it unchanged when the two files' ctimes shared one tick (a
    coarse clock): the run reused the first photo's features for the second. The inode tells."""
    first, second = tmp_path / "pool" / "a.jpg", tmp_path / "pool" / "b.jpg"
    first.parent.mkdir()
    first.write_bytes(b"\xff\xd8 one photo \xff\xd9")
    second.write_bytes(b"\xff\xd8 another ph \xff\xd9")
    for path in (first, second):
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    (tmp_path / "images" / "Kiwi").mkdir(parents=True)
    link = tmp_path / "images" / "Kiwi" / "x.jpg"
    link.symlink_to(first)
    listing = list_local_folder(tmp_path / "images")
    (file,) = listing.accepted
    index = {listing.path_of(file.relative): Indexed(file.size, file.stamp, DIGEST, 5)}
    link.unlink()
    link.symlink_to(second)
    unchanged, to_read = split_listing(list_local_folder(tmp_path / "images"), index)
    assert (unchanged, [f.relative for f in to_read.accepted]) == ([], ["Kiwi/x.jpg"])


def test_the_local_stamp_differs_for_two_files_whose_times_agree():
    def status(inode: int) -> os.stat_result:
        # st_mode, st_ino, st_dev, st_nlink, st_uid, st_gid, st_size, the times in s, as floats, in ns
        return os.stat_result([0o100644, inode, 2049, 1, 0, 0, 10, 1, 1, 1, 1.0, 1.0, 1.0, 10**9, 10**9, 10**9])
    assert local_stamp(status(11)) != local_stamp(status(12))
    assert local_stamp(status(11)) == local_stamp(status(11))
