"""`fruits results RUN`: the run's summary and reduced matrix, from the bucket to a local folder;
and the check that `fruits start` makes before it reuses a run id.

Usage: `files = fetch_results(s3, platform, "run-...", Path("output/run-..."))`;
`refuse_complete_run(s3, platform, run_id)` raises if RESULTS/RUN/manifest.json exists (the
platform's layout: fruits.layout).
Spark's own outputs (features/, the Parquet matrix, the PCA model) stay in the bucket: their URIs
are in manifest.json. Every key fetched must map to a plain path inside the target folder, else
nothing is written. The files go to a hidden folder beside the target, which then replaces the
target whole: a fetch never mixes two runs' files, and a failed fetch leaves the previous one.
A fetch killed mid-download leaves only that hidden folder: the next fetch removes it. One killed
while it swaps the folders leaves the previous fetch hidden: the next fetch puts it back first.
"""
from __future__ import annotations

import fcntl
import glob
import json
import os
import re
import secrets
import shutil
from pathlib import Path

from fruits.cloud.aws import aws_errors
from fruits.cloud.transfer import existing_sizes
from fruits.errors import FruitsError
from fruits.layout import EXPLAINED_VARIANCE, EXTRACT_SUMMARY, MANIFEST, MATRIX_CSV, PCA_FOLDER, PLOTS
from fruits.unheld import unheld

FILES = (MANIFEST, EXTRACT_SUMMARY, f"{PCA_FOLDER}/{MATRIX_CSV}", f"{PCA_FOLDER}/{EXPLAINED_VARIANCE}")
FOLDERS = (f"{PCA_FOLDER}/{PLOTS}/",)
# Files a desktop puts in any folder it shows (Finder, Explorer): replaced with the folder, not the user's work.
DESKTOP_METADATA = (".DS_Store", "Thumbs.db", "desktop.ini")
FETCHED = ".fetched.json"  # the names a fetch wrote: a later fetch replaces those, and refuses to delete anything else


def is_wanted(name: str) -> bool:
    """`name`, relative to the run's prefix, is one of the files `fruits results` fetches."""
    return name in FILES or (name.startswith(FOLDERS) and not name.endswith("/") and "/_" not in name)  # "_": Spark's hidden files


def refuse_complete_run(s3, platform, run_id: str) -> None:
    key = platform.layout.run_prefix(run_id) + MANIFEST
    if key in existing_sizes(s3, platform.bucket, key):
        raise FruitsError(f"run {run_id} is already complete (s3://{platform.bucket}/{key}): pass --replace to run it "
                          f"again (its results will be replaced), or choose another --run-id")


def fetch_results(s3, platform, run_id: str, target: Path) -> list[Path]:
    prefix = platform.layout.run_prefix(run_id)
    recover_abandoned_fetches(target)  # first: a fetch that fails below still leaves the last one in place
    names = sorted(key[len(prefix):] for key in existing_sizes(s3, platform.bucket, prefix) if is_wanted(key[len(prefix):]))
    if MANIFEST not in names:
        raise FruitsError(f"run {run_id} has no results yet (no s3://{platform.bucket}/{prefix}{MANIFEST}): "
                          f"see `fruits status {run_id}`")
    for name in names:
        check_inside(target, name, f"s3://{platform.bucket}/{prefix}{name}")
    check_file_or_folder(names, f"s3://{platform.bucket}/{prefix}")
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.fetching-{secrets.token_hex(4)}")
    hold = None

    def cannot_write(what: str, error: OSError) -> FruitsError:
        return FruitsError(f"cannot write {what} under {target}: {error.strerror or error}; nothing was fetched"
                           f"{' (the previous fetch is kept)' if target.exists() else ''}")

    try:
        try:
            staging.mkdir()
        except OSError as error:
            raise cannot_write(staging.name, error) from None
        hold = os.open(staging, os.O_RDONLY)  # held while this fetch lives: a later fetch leaves the folder alone
        fcntl.flock(hold, fcntl.LOCK_EX)
        for name in names:
            source = f"s3://{platform.bucket}/{prefix}{name}"
            try:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                with aws_errors(f"download {source}"):
                    s3.download_file(platform.bucket, prefix + name, str(staging / name))
            except OSError as error:  # e.g. a name longer than this file system takes
                raise cannot_write(source, error) from None
        try:
            (staging / FETCHED).write_text(json.dumps(names))
        except OSError as error:  # the downloads took the last of a full device
            raise cannot_write(FETCHED, error) from None
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if hold is not None:
            os.close(hold)
    return [target / name for name in names]


def recover_abandoned_fetches(target: Path) -> None:
    """Tidies beside `target` after fetches killed before they ended (SIGKILL: nothing of theirs
    ran): puts back at a missing `target` the previous fetch that one killed between its two
    renames left hidden, and removes the rest (the staging folders of fetches killed mid-download,
    whose part-written files were never read; previous fetches already replaced). Folders that a
    live fetch holds are left alone."""
    hidden = re.compile(rf"\.{re.escape(target.name)}\.(fetching|previous)-[0-9a-f]{{8}}")  # only `target`'s own
    for folder in sorted(target.parent.glob(f".{glob.escape(target.name)}.*-*")):
        found = hidden.fullmatch(folder.name)
        if not found or folder.is_symlink() or not folder.is_dir():
            continue
        with unheld(folder) as abandoned:
            if not abandoned:  # a fetch of the same run to the same place, under way
                continue
            if found[1] == "previous" and not os.path.lexists(target) and (folder / FETCHED).is_file():
                folder.rename(target)  # whole: a replaced one loses its FETCHED record before anything else
            else:
                shutil.rmtree(folder, ignore_errors=True)


def check_inside(target: Path, name: str, source: str) -> None:
    """Refuses a key whose local path would leave `target`, or is not a plain relative path."""
    if "\0" in name:  # no file name holds one (and Path.resolve() raises on it)
        raise FruitsError(f"refusing {source!r}: a NUL character cannot be in a file name; nothing was fetched")
    if not (target / name).resolve().is_relative_to(target.resolve()):
        raise FruitsError(f"refusing {source}: it would be written outside {target}; nothing was fetched")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise FruitsError(f"refusing {source}: not a plain relative path ('.', '..' or an empty part); nothing was fetched")


def check_file_or_folder(names: list[str], where: str) -> None:
    """Refuses keys of which one is both a file and a folder (S3 holds `a.png` and `a.png/b.png`)."""
    folders = {name.rsplit("/", 1)[0] for name in names if "/" in name}
    folders |= {folder.rsplit("/", i)[0] for folder in set(folders) for i in range(folder.count("/") + 1)}
    clash = sorted(set(names) & folders)
    if clash:
        raise FruitsError(f"refusing {where}{clash[0]}: it is a file and, for other keys, a folder, which a local folder cannot "
                          "hold; nothing was fetched")


def check_replaceable(target: Path) -> None:
    """A folder that a fetch may replace: none yet, or one that holds only fetched files."""
    if target.is_symlink():
        raise FruitsError(f"{target} is a symbolic link: a fetch replaces the folder, not what a link points to; "
                          "remove the link or choose another --to")
    if not target.exists():
        return
    if not target.is_dir():
        raise FruitsError(f"{target} is a file, not a folder of fetched results: choose another --to")
    fetched = fetched_names(target)
    others = sorted(name for path in target.rglob("*") if (path.is_file() or path.is_symlink())
                    and (name := path.relative_to(target).as_posix()) != FETCHED and path.name not in DESKTOP_METADATA
                    and not (name in fetched if fetched is not None else is_wanted(name)))
    if others:
        raise FruitsError(f"{target} is not a folder of fetched results (it holds {', '.join(others[:3])}"
                          f"{', ...' if len(others) > 3 else ''}): choose another --to")


def fetched_names(target: Path) -> set[str] | None:
    """The names the last fetch into `target` wrote (its FETCHED record), None without a record."""
    try:
        names = json.loads((target / FETCHED).read_text())
    except (OSError, ValueError):
        return None
    return set(names) if isinstance(names, list) and all(isinstance(name, str) for name in names) else None


def replace_folder(complete: Path, target: Path) -> None:
    """Puts the folder `complete` at `target`; the old `target`, if any, goes only once it is there."""
    if not target.exists():
        complete.rename(target)
        return
    previous = target.with_name(f".{target.name}.previous-{secrets.token_hex(4)}")
    held = os.open(target, os.O_RDONLY)  # while it is hidden: another fetch neither puts it back nor removes it
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        target.rename(previous)  # killed from here until the next rename: the next fetch puts `previous` back
        try:
            complete.rename(target)
        except OSError:
            previous.rename(target)
            raise
        (previous / FETCHED).unlink(missing_ok=True)  # first: a part-removed previous is never put back
        shutil.rmtree(previous)
    finally:
        os.close(held)
