"""Hostile input, round 4: what the pipeline's own storage and options do with it."""
from __future__ import annotations

import os

import pytest
from py4j.protocol import Py4JJavaError

from fruits.storage import NO_SPACE, Storage


def files_open_below(pid: int, folder) -> list[str]:
    """The files below `folder` that process `pid` holds open (Linux /proc)."""
    targets = []
    for descriptor in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
        except OSError:  # closed meanwhile
            pass
    return [target for target in targets if target.startswith(str(folder))]


def test_concatenate_closes_its_output_on_a_full_device(spark, small_device, tmp_path):
    """Hadoop's checksummed local stream left the file and its .crc open in the JVM when its last
    flush failed: their space stayed in use after the staging folder was removed."""
    source = tmp_path / "part-00000"
    source.write_bytes(os.urandom(300_000))  # more than the 64 KiB device holds
    with pytest.raises(Py4JJavaError, match="An error occurred") as failed:
        Storage(spark).concatenate([str(source)], str(small_device / "_staging" / "matrix.csv"), header=b"a,b\n")
    assert NO_SPACE in str(failed.value.java_exception.toString()) or NO_SPACE in str(failed.value)
    assert files_open_below(spark.sparkContext._gateway.proc.pid, small_device) == []


def test_concatenate_still_joins_the_parts_after_the_header(spark, tmp_path):
    parts = [tmp_path / f"part-{number}" for number in range(3)]
    for number, part in enumerate(parts):
        part.write_bytes(f"{number},x\n".encode())
    target = tmp_path / "out" / "matrix.csv"
    Storage(spark).concatenate([str(part) for part in parts], str(target), header=b"n,s\n")
    assert target.read_bytes() == b"n,s\n0,x\n1,x\n2,x\n"


@pytest.mark.parametrize(("images", "name"), [
    ("s3://bucket/images/fruits/..", "images"),   # was "..": the store was OUTPUT itself, and the run was refused
    ("s3://bucket/images/fruits/.", "fruits"),    # was ".": the folder of every dataset's store
    ("s3://bucket/images/fruits//", "fruits"), ("s3a://bucket/a/./b/../fruits", "fruits"), ("s3://bucket/..", "bucket"),
    ("s3://bucket", "bucket"), ("/data/fruits", "fruits"), ("/", "images"),
])
def test_the_default_feature_store_is_one_folder_below_output_feature_store(images, name, tmp_path):
    from fruits.commands.local import default_feature_store

    store = default_feature_store(str(tmp_path), images)
    assert store == os.path.join(tmp_path, "feature-store", name)
    assert os.path.dirname(os.path.normpath(store)) == os.path.join(tmp_path, "feature-store")


def test_a_file_that_grows_after_the_listing_is_not_read_and_says_so(spark, sample_images, tmp_path):
    """Spark reads a file whole at its size when the task runs: one appended to after the listing
    was read at its new size, past the listing's largest (so past --max-file-bytes, or beyond
    Spark's 2 GiB, where the whole job fails)."""
    from fruits.images import list_input, read_images, unread_files
    from tests.pipeline.images import copy_subset

    folder = copy_subset(sample_images, tmp_path / "photos", per_class=1)
    listing = list_input(spark, str(folder))
    grown, emptied = (folder / file.relative for file in listing.accepted[:2])
    with open(grown, "ab") as handle:  # what a copy still being written, or a log mistaken for a photo, does
        handle.write(bytes(max(file.size for file in listing.accepted) + 1))
    emptied.write_bytes(b"")

    read = read_images(spark, listing).select("path", "size").collect()

    assert len(read) == len(listing.accepted) - 2 and all(row.size <= max(file.size for file in listing.accepted) for row in read)
    lost = unread_files(listing, read_images(spark, listing))
    assert [(row.path, row.reason.split(":")[0]) for row in lost] == [
        (listing.path_of(listing.accepted[0].relative), "file too large"), (listing.path_of(listing.accepted[1].relative), "empty file")]
    assert "grew from" in lost[0].reason


@pytest.mark.parametrize("value", ["2147483648", str(10**15)])
def test_the_extract_job_refuses_an_arrow_batch_spark_cannot_take_before_spark_starts(value, capsys):
    """run-local refused it already; the job passed it on, and Spark refused it once its JVM had
    started, calling it a --conf."""
    from fruits.steps.extract_step import parse_args

    with pytest.raises(SystemExit) as refused:
        parse_args(["--images", "/i", "--output", "/o", "--weights", "/w.h5", "--arrow-batch-size", value])
    assert refused.value.code == 2
    assert "argument --arrow-batch-size: must be at most 2,147,483,647" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "message"), [("61", "must be at most 60"), (str(10**15), "must be at most 60"),
                                                 ("0", "must be at least 1")])
def test_rehearse_refuses_a_retry_interval_the_rehearsal_terraform_would_refuse(value, message, capsys, tmp_path):
    """79 and above failed in Terraform's timeout validation, after the emulator had started."""
    from fruits.cli import main

    taken = tmp_path / "a-file"
    taken.write_text("")  # a --work-dir the rehearsal refuses at once, should the interval get through
    with pytest.raises(SystemExit) as refused:
        main(["rehearse", "--retry-interval", value, "--work-dir", str(taken)])
    assert refused.value.code == 2 and message in capsys.readouterr().err.splitlines()[-1]


def test_sigterm_ends_a_rehearsal_through_the_cleanup_ctrl_c_runs():
    """SIGTERM's default action killed `fruits rehearse` at once and left the running step's
    spark-submit (a session of its own) with its Python workers; as KeyboardInterrupt it stops
    them (measured end to end: /tmp repro, exit 130, nothing left). The handler is restored after."""
    import signal

    from fruits.terminated import terminated_as_interrupted

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), terminated_as_interrupted():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 1)  # the handler runs at the next bytecode boundary
    assert signal.getsignal(signal.SIGTERM) is before
