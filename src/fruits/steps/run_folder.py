"""A run folder (`OUTPUT/RUN/` locally, `s3://BUCKET/results/RUN/` in the cloud) is, at every
moment, either a complete and consistent run or visibly incomplete: `manifest.json` is there
exactly when everything beside it belongs to one finished run. Each step removes the marker it
would invalidate before it replaces anything, and writes its own marker last:

  moment                                          what a reader sees
  step 1 lists, extracts, writes hidden staging   the folder as it was (a complete run stays complete)
  step 1 moves its outputs into place             manifest.json and extract_summary.json removed
                                                  first, then features/ and rejected/ replaced:
                                                  incomplete (an old pca/ may still be there)
  step 1 writes extract_summary.json              step 1 done, no manifest: still incomplete
  step 2 fits, writes pca/ to a hidden staging    unchanged (if step 2 runs alone on a complete
                                                  run, that run is still whole and complete)
  step 2 moves pca/ into place                    manifest.json removed first: incomplete
  step 2 writes manifest.json                     complete: every file is this run's

Storage.replace deletes the old output and then renames the staged one; on S3 a rename copies
object by object, so for a while an output is partly there. The missing manifest is what says so:
read a run only when manifest.json exists. A retried step runs on an incomplete folder as on a
fresh one. Reusing the id of a complete run is refused before any work unless asked
(`--replace`): locally by `check_run_folder`, in the cloud by `fruits start`.

Two local runs of one id into one --output would write the same folder at once, and could leave
a manifest beside the other run's files: `holding_run_folder` keeps the folder for one process
(an flock on RUN/.lock, which the OS releases however the process ends) and checks it again once
held. In the cloud, `fruits start` refuses a run id while its execution runs.
A run killed before its own cleanup (SIGKILL, a second Ctrl-C, a dead JVM) leaves hidden staging
files, never read; the next run of that id removes them, and any run-local in the same --output
removes those of the folders no process holds (`remove_abandoned_staging`): a folder held by
the lock is never touched. A job started by hand with spark-submit into a local folder holds it
the same way (fruits.steps.job_runner).

Usage: `check_run_folder(Path(output), run_id, replace=args.replace)` before a local run starts,
then `with holding_run_folder(Path(output), run_id, replace=args.replace): ...` around its steps;
the steps call `storage.delete(join_uri(output, MANIFEST))` before they replace anything.
"""
from __future__ import annotations

import fcntl
import os
import posixpath
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fruits.errors import FruitsError
# RUN_ENTRIES: what the steps write in a run folder; names starting with "_" (staging) or "."
# (Hadoop's checksums) are theirs too.
from fruits.layout import MANIFEST, RUN_ENTRIES
from fruits.unheld import unheld


def check_run_folder(folder: Path, run_id: str, replace: bool = False) -> None:
    """Refuses a folder that holds anything but a run's outputs, and a complete run unless `replace`."""
    if not folder.is_dir():
        return
    foreign = sorted(entry.name for entry in folder.iterdir()
                     if entry.name not in RUN_ENTRIES and not entry.name.startswith(("_", ".")))
    if foreign:
        raise FruitsError(f"{folder} is not a run folder (it holds {', '.join(foreign[:3])}"
                          f"{', ...' if len(foreign) > 3 else ''}): choose another --run-id or --output")
    if (folder / MANIFEST).exists() and not replace:
        raise FruitsError(f"run {run_id} is already complete in {folder}: pass --replace to run it again "
                          f"there (its outputs will be replaced), or choose another --run-id")


LOCK = ".lock"


@contextmanager
def holding_run_folder(folder: Path, run_id: str, replace: bool = False) -> Iterator[None]:
    """The run folder for this process alone while the block runs; a clear error if another holds it.
    A run that wrote nothing leaves nothing: the folders it made for the lock go again, and a
    folder that is not a run's (the images, a label folder) is refused before the lock is made in it."""
    check_run_folder(folder, run_id, replace)
    made = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FruitsError(f"run {run_id} is being written in {folder} by another fruits process: wait for it to end, "
                              "or choose another --run-id") from None
        try:
            check_run_folder(folder, run_id, replace)  # again: a run may have completed since the first check
            yield
        finally:
            if made and os.listdir(folder) == [LOCK]:  # still held: no other process can take the lock meanwhile
                os.unlink(folder / LOCK)
                for path in made:
                    try:
                        path.rmdir()
                    except OSError:
                        break


STAGING = ("_staging-", "._staging-")  # fruits.storage's staging names, and Hadoop's checksums of staged files


def remove_abandoned_staging(output: Path, keep: Path) -> list[Path]:
    """Removes, in the run folders of `output` other than `keep`, the staging files and folders
    of runs killed before their own cleanup (SIGKILL, a second Ctrl-C, a dead JVM): those of a
    folder whose .lock no process holds (the OS releases a killed process's lock). Folders
    without a .lock, and folders a run holds, are left alone; what cannot be removed (another
    user's) stays, unread. Returns what it removed."""
    removed = []
    for folder in _entries(output):
        if folder == keep or folder.is_symlink() or not folder.is_dir():
            continue
        staged = [entry for entry in _entries(folder) if entry.name.startswith(STAGING)]
        if not staged:
            continue
        with unheld(folder / LOCK) as abandoned:  # never created here: a folder without one is not a run's
            if not abandoned:  # a run is writing this folder, its staging in use
                continue
            for entry in staged:
                try:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                except OSError:  # not ours to remove: stays, never read
                    continue
                removed.append(entry)
    return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def refuse_overlap(folder: str, what: str, other: str, other_what: str, why: str) -> None:
    """Refuses two folders or prefixes of which one holds the other (or both are one): local
    paths (or file: URIs) as they resolve, s3:// (s3a://, s3n://) and other URIs by their keys."""
    mine, theirs = comparable_location(folder), comparable_location(other)
    if mine == theirs or mine.startswith(theirs.rstrip("/") + "/") or theirs.startswith(mine.rstrip("/") + "/"):
        raise FruitsError(f"{what} {folder} and {other_what} {other} overlap: {why}")


def comparable_location(location: str) -> str:
    """`location` in one spelling per place: a local path resolved (links followed), a URI with
    its S3 schemes as one, its repeated '/', '.' and '..' removed (Hadoop's Path does the same)."""
    from fruits.settings import is_remote, local_path

    if not is_remote(location):
        return os.path.realpath(local_path(location))
    scheme, _, rest = location.partition("://")
    scheme = "s3" if scheme.lower() in ("s3", "s3a", "s3n") else scheme.lower()
    bucket, _, key = rest.partition("/")
    key = posixpath.normpath("/" + key).lstrip("/")
    return f"{scheme}://{bucket}/{key}".rstrip("/")
