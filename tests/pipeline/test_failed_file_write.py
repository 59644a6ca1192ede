"""A single file written through `Storage.write_bytes` (a store's commit, its key, its content index,
a manifest, a plot) that fills its device: the write fails, the file it would replace keeps its old
bytes, and no staged copy or its checksum stays behind beside it: they held the device's last
space after the run (Hadoop's local stream keeps them open in the JVM until it ends)."""
from __future__ import annotations

import os

import pytest

from fruits.storage import Storage


@pytest.mark.slow
def test_a_file_write_that_fills_the_device_leaves_the_old_file_and_nothing_else(spark, small_device):  # a 64 KiB tmpfs (conftest)
    target = small_device / "commit.json"
    target.write_text('{"old": true}')
    with pytest.raises(Exception, match="No space left on device"):
        Storage(spark).write_bytes(str(target), os.urandom(256 * 1024))
    assert sorted(os.listdir(small_device)) == ["commit.json"]
    assert target.read_text() == '{"old": true}'
