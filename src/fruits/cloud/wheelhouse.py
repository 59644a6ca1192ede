"""The wheelhouse: a wheel for each pin of requirements/cluster.lock, built for the EMR nodes, so
that the bootstrap installs with `pip install --no-index` and no node contacts PyPI.

Usage:
    house = local_wheelhouse(lock)                # --wheelhouse / $FRUITS_WHEELHOUSE, else the cache
    house = build_wheelhouse(lock, CACHE)         # pip download, once per lock: CACHE/TARGET/LOCKHASH/
    stage_wheelhouse(s3, platform, house)         # -> s3://BUCKET/ARTIFACTS/wheelhouse/TARGET/LOCKHASH/ (fruits.layout)
    python -m fruits.cloud.wheelhouse [LOCK]      # fills the cache (`make wheelhouse`), prints the folder

A wheelhouse folder holds the wheels, the lock they are for (cluster.lock) and SHA256SUMS
(`sha256sum` format, every other file), written last: without it a folder is not a wheelhouse,
in the cache as in the bucket. The cache is .tools/wheelhouse/ in the checkout (fruits.project).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fruits.checksums import sha256_of_file
from fruits.errors import FruitsError
from fruits.layout import REQUIREMENTS_LOCK, BucketLayout
from fruits.project import checkout_file, checkout_path

CACHE = checkout_path(".tools/wheelhouse")
WHEELHOUSE_ENV = "FRUITS_WHEELHOUSE"
MANIFEST = "SHA256SUMS"
LOCK_NAME = "cluster.lock"
# The nodes: EMR 7 runs Amazon Linux 2023 (glibc 2.34) on x86_64 here, and the bootstrap's
# (docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-release-7x.html, as bootstrap/install-python-deps.sh)
# Python 3.11. pip matches --platform tags exactly, so every manylinux tag up to 2.34 is listed,
# newest first as pip ranks them for a machine of its own.
PYTHON_VERSION, ABI = "3.11", "cp311"
NODES = "Linux x86_64, CPython 3.11, glibc 2.34 (Amazon Linux 2023)"
TARGET = "cp311-manylinux_2_34_x86_64"
PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(34, 4, -1)),
             "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
DIGEST_LENGTH = 16


def lock_digest(lock: Path) -> str:
    """The first 16 hex digits of the lock's SHA-256: the wheelhouse's name, here and in the bucket."""
    return sha256_of_file(lock)[:DIGEST_LENGTH]


def wheelhouse_prefix(layout: BucketLayout, lock: Path) -> str:
    return layout.wheelhouse_prefix(TARGET, lock_digest(lock))


def checkout_wheelhouse_prefix(layout: BucketLayout) -> str:
    """The bucket prefix of the wheelhouse of this checkout's requirements/cluster.lock."""
    return wheelhouse_prefix(layout, checkout_file(REQUIREMENTS_LOCK, "the wheelhouse of the checkout's lock"))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: Path) -> list[str]:
    """The lock's `name==version` lines (comments and blank lines left out)."""
    pins = []
    for number, line in enumerate(lock.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", line):
            raise FruitsError(f"{lock} line {number} is not `name==version`: {line!r} (the wheelhouse needs exact pins)")
        pins.append(line)
    return pins


def missing_wheels(pins: list[str], file_names) -> list[str]:
    """The pins that none of the wheel file names is for (names compared as PEP 503 spells them)."""
    wheels = {(canonical(name.split("-")[0]), name.split("-")[1].lower()) for name in file_names if name.endswith(".whl")}
    return [pin for pin in pins if (canonical(pin.split("==")[0]), pin.split("==")[1].lower()) not in wheels]


@dataclass(frozen=True)
class Wheelhouse:
    folder: Path
    files: dict[str, str]       # file name -> SHA-256, as SHA256SUMS lists them (wheels and cluster.lock)

    @property
    def lock_digest(self) -> str:
        """The digest of the lock it was built for: its name, here and in the bucket."""
        return self.files[LOCK_NAME][:DIGEST_LENGTH]

    @property
    def wheels(self) -> list[str]:
        return sorted(name for name in self.files if name.endswith(".whl"))

    @property
    def size(self) -> int:
        return sum((self.folder / name).stat().st_size for name in self.files)

    @property
    def manifest(self) -> bytes:
        return manifest_text(self.files).encode()


def manifest_text(files: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))


def read_manifest(text: str, source) -> dict[str, str]:
    files = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([0-9a-f]{64}) [ *]([^/]+)", line)
        if not match:
            raise FruitsError(f"{source} is not a SHA256SUMS file: {line!r}")
        files[match.group(2)] = match.group(1)
    return files


def seal_wheelhouse(folder: Path, lock: Path) -> Wheelhouse:
    """Copy the lock in, then write SHA256SUMS over every other file: the last write."""
    shutil.copyfile(lock, folder / LOCK_NAME)
    files = {path.name: sha256_of_file(path) for path in sorted(folder.iterdir()) if path.is_file() and path.name != MANIFEST}
    scratch = folder / f".{MANIFEST}.writing"
    scratch.write_text(manifest_text(files))
    scratch.replace(folder / MANIFEST)
    return Wheelhouse(folder=folder, files=files)


def open_wheelhouse(folder: Path, lock: Path) -> Wheelhouse:
    """The wheelhouse in `folder`, checked: sealed, for this lock, every file as sealed, every pin there."""
    if not (folder / MANIFEST).is_file():
        raise FruitsError(f"{folder} is not a complete wheelhouse (no {MANIFEST}, which is written last): "
                          f"`make wheelhouse` or `fruits stage` builds one")
    try:
        text = (folder / MANIFEST).read_bytes().decode("utf-8")
    except UnicodeDecodeError:  # sealing writes UTF-8 text
        raise FruitsError(f"{folder / MANIFEST} is not a SHA256SUMS file: it is not text (delete the wheelhouse and build it again)") from None
    files = read_manifest(text, folder / MANIFEST)
    if files.get(LOCK_NAME) != sha256_of_file(lock):
        raise FruitsError(f"the wheelhouse {folder} was built for another lock than {lock}: build it for this one "
                          f"(`make wheelhouse`, or `fruits stage` without --wheelhouse)")
    missing = [name for name in sorted(files) if not (folder / name).is_file()]
    changed = [name for name in sorted(files) if name not in missing and sha256_of_file(folder / name) != files[name]]
    if missing or changed:
        found = [f"missing {', '.join(missing)}"] * bool(missing) + [f"changed {', '.join(changed)}"] * bool(changed)
        raise FruitsError(f"the wheelhouse {folder} does not match its {MANIFEST}: {'; '.join(found)} (delete it and build it again)")
    lacking = missing_wheels(lock_pins(lock), files)
    if lacking:
        raise FruitsError(f"the wheelhouse {folder} has no wheel for {', '.join(lacking)}")
    return Wheelhouse(folder=folder, files=files)


def download_wheels(lock: Path, folder: Path) -> None:
    """pip download of every pin, as a wheel for the nodes (the lock is complete: no dependencies)."""
    platforms = [option for tag in PLATFORMS for option in ("--platform", tag)]
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--quiet",
               "--only-binary=:all:", "--no-deps", "--implementation", "cp", "--python-version", PYTHON_VERSION,
               "--abi", ABI, *platforms, "-r", str(lock), "-d", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        if "connection broken" in result.stderr or "Could not fetch URL" in result.stderr:
            index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/ (unless pip.conf names another)")
            raise FruitsError(f"pip could not reach the package index {index} to download the wheels of {lock}: "
                              f"the first `fruits stage` of a lock needs it (or pass --wheelhouse)")
        unmatched = re.findall(r"satisfies the requirement (\S+)", result.stderr)
        if unmatched:
            raise FruitsError(f"no wheel for {NODES} of {', '.join(dict.fromkeys(unmatched))} in {lock}: "
                              f"the nodes install wheels only, with no index (pin a version that has one)")
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or result.stderr.splitlines()[-1:]
        raise FruitsError(f"pip download of {lock} failed: {' '.join(errors)}")


def build_wheelhouse(lock: Path, cache: Path = CACHE, show: bool = True) -> Wheelhouse:
    """The wheelhouse for this lock from the cache, else downloaded into a scratch folder, sealed,
    and renamed into place whole: a folder under its final name is always complete."""
    target = cache / TARGET / lock_digest(lock)
    if target.exists():
        return open_wheelhouse(target, lock)
    pins = lock_pins(lock)
    target.parent.mkdir(parents=True, exist_ok=True)
    if show:
        print(f"Building the wheelhouse of {lock} ({len(pins)} pins, {NODES}) in {target}", file=sys.stderr, flush=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".building-{target.name}-", dir=target.parent))
    try:
        download_wheels(lock, scratch)
        lacking = missing_wheels(pins, os.listdir(scratch))
        if lacking:
            raise FruitsError(f"no wheel for {NODES} of {', '.join(lacking)} in {lock}: pip download gave none")
        seal_wheelhouse(scratch, lock)
        try:
            scratch.rename(target)
        except OSError:
            if not target.exists():  # else another build finished first: use that one
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return open_wheelhouse(target, lock)


def local_wheelhouse(lock: Path, folder: str | None = None, show: bool = True) -> Wheelhouse:
    """`folder`, else $FRUITS_WHEELHOUSE (a built wheelhouse, used as it is), else the cache's."""
    chosen = folder or os.environ.get(WHEELHOUSE_ENV)
    if chosen:
        return open_wheelhouse(Path(chosen), lock)
    return build_wheelhouse(lock, CACHE, show)


def stage_wheelhouse(s3, platform, house: Wheelhouse, show: bool = True) -> dict:
    """Upload the wheelhouse under its prefix in the platform's layout, SHA256SUMS last; nothing at
    all when the bucket already holds this manifest and every file it lists, at its size."""
    from fruits.cloud.aws import aws_errors
    from fruits.cloud.transfer import existing_sizes, read_object, upload_files

    prefix = platform.layout.wheelhouse_prefix(TARGET, house.lock_digest)
    uri = f"s3://{platform.bucket}/{prefix}"
    sizes = existing_sizes(s3, platform.bucket, prefix)
    complete = all(sizes.get(prefix + name) == (house.folder / name).stat().st_size for name in house.files)
    if complete and read_object(s3, platform.bucket, prefix + MANIFEST) == house.manifest:
        return {"uploaded": 0, "skipped": len(house.files), "bytes": 0, "already_there": True, "uri": uri}
    summary = upload_files(s3, platform, [(house.folder / name, prefix + name) for name in sorted(house.files)], show=show)
    with aws_errors(f"write {uri}{MANIFEST}"):
        s3.put_object(Bucket=platform.bucket, Key=prefix + MANIFEST, Body=house.manifest,
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=platform.kms_key_arn)
    return {**summary, "already_there": False, "uri": uri}


def main(arguments: list[str]) -> int:
    try:
        lock = Path(arguments[0]) if arguments else checkout_file(REQUIREMENTS_LOCK, "`make wheelhouse`")
        if not lock.is_file():
            raise FruitsError(f"no lock file {lock}")
        house = build_wheelhouse(lock)
    except FruitsError as error:
        print(f"fruits: error: {error}", file=sys.stderr)
        return 1
    print(f"{house.folder}: {len(house.wheels)} wheels, {house.size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
