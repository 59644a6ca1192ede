"""Parallel, resumable uploads to the platform's bucket: SSE-KMS with the platform's key, and a
file already there with the same SHA-256 is skipped. Every file is tried: when some fail, the
others are uploaded all the same, then UploadsFailed names each failure (a re-run retries them).

Usage:
    summary = upload_files(s3, platform, [(Path("a/b.jpg"), "images/apple/b.jpg")], show=True)
    # {"uploaded": 1, "skipped": 0, "bytes": 5123}
    require_images(s3, bucket, "images/fruits-360/")   # FruitsError if the prefix holds no photo
    object_exists(s3, bucket, key); read_object(s3, bucket, key)   # False / None when it is not there
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fruits.checksums import sha256_of_file
from fruits.cloud.aws import aws_errors, is_not_found
from fruits.errors import FruitsError
from fruits.input_files import rejection_reason

SHA256_METADATA = "sha256"


class UploadsFailed(FruitsError):
    """Some files were not uploaded (the others were): the message sums up, `details` has one
    line per failed file."""

    def __init__(self, message: str, details: list[str]):
        super().__init__(message)
        self.details = details


def existing_sizes(s3, bucket: str, prefix: str) -> dict[str, int]:
    sizes = {}
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return sizes


def object_exists(s3, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    with aws_errors(f"look for s3://{bucket}/{key}"):
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as error:
            if is_not_found(error):
                return False
            raise


def read_object(s3, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such key."""
    from botocore.exceptions import ClientError

    with aws_errors(f"read s3://{bucket}/{key}"):
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if is_not_found(error):
                return None
            raise


def require_images(s3, bucket: str, prefix: str, k: int | None = None) -> None:
    """Refuses a prefix that holds no photo a run reads (PREFIX/LABEL/NAME.jpg|.jpeg|.png, no
    name starting with '_' or '.', not empty: fruits.input_files.rejection_reason), and, when the
    whole listing was read, fewer than 2 photos or fewer than `k`: a run on it would start a
    cluster only to fail on its input. Pages are read until enough photos are found: a page holds
    "up to 1,000" keys, "sorted in an ascending order of the respective key names"
    (docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html), so a dataset below this one
    (`2026/apples` under `2026`) can fill the first page."""
    needed, keys, photos, every_key = max(2, k or 0), 0, 0, True
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                keys += 1
                # any size but 0: how large a file a run takes is the run's setting
                photos += rejection_reason(item["Key"].removeprefix(prefix), item["Size"], sys.maxsize) is None
            if photos >= needed and page.get("IsTruncated"):
                every_key = False
                break
    where = f"s3://{bucket}/{prefix}"
    if photos == 0:
        found = "it is empty" if not keys else (f"{keys} other file{'s' * (keys > 1)}: a run reads only LABEL/NAME photos "
                                                "there, not deeper folders, hidden names or empty files")
        twins = look_alike_prefixes(s3, bucket, prefix) if not keys else []
        hint = (f"; {', '.join(map(ascii, twins))} beside it reads the same ({ascii(prefix.rstrip('/').rpartition('/')[2])} "
                "was typed): pass that --dataset") if twins else ""
        raise FruitsError(f"no photos under {where} ({found}){hint}: upload them first with `fruits upload FOLDER "
                          "--dataset NAME`, or pass the --dataset that holds them; nothing was started")
    if every_key and photos < 2:
        raise FruitsError(f"only 1 photo under {where}: PCA needs at least 2; nothing was started")
    if every_key and k is not None and k > photos:
        raise FruitsError(f"--k {k} is more than the {photos} photos under {where} (PCA gives at most one component "
                          "per image): nothing was started")


def look_alike_prefixes(s3, bucket: str, prefix: str) -> list[str]:
    """The names beside `prefix`'s last folder (first page of its parent) that read as it does but
    are spelt otherwise: "Pommé" sent from Linux (NFC) when "Pommé" typed on macOS (NFD) was asked
    for. S3 keeps a key's bytes as sent, so the two are different prefixes."""
    from fruits.input_files import reads_as

    parent, _, name = prefix.rstrip("/").rpartition("/")
    parent = f"{parent}/" if parent else ""
    with aws_errors(f"list s3://{bucket}/{parent}"):
        page = s3.list_objects_v2(Bucket=bucket, Prefix=parent, Delimiter="/")
    names = (entry["Prefix"][len(parent):].rstrip("/") for entry in page.get("CommonPrefixes", []))
    return sorted(other for other in names if other != name and reads_as(other) == reads_as(name))


class Bar:
    """`label  done/total  rate` on one redrawn line (a line every 10 s when not a terminal)."""

    def __init__(self, label: str, total: int, show: bool, stream=None):
        self.label, self.total, self.show, self.done = label, total, show, 0
        self.stream = stream or sys.stderr
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def advance(self) -> None:
        with self.lock:
            self.done += 1
            now = time.monotonic()
            if self.show and (self.interactive or now - self.last >= 10 or self.done == self.total):
                self.last = now
                rate = self.done / max(now - self.started, 1e-6)
                end = "\r" if self.interactive and self.done < self.total else "\n"
                print(f"{self.label}  {self.done}/{self.total}  {rate:.0f} files/s", end=end, file=self.stream, flush=True)


def upload_files(s3, platform, files: list[tuple[Path, str]], show: bool = True, workers: int = 8,
                 existing: dict[str, int] | None = None) -> dict:
    """Upload (local path, key) pairs; skip keys whose stored SHA-256 matches the local file.
    `existing`: existing_sizes() of a prefix above every key, when the caller has listed it already."""
    common = os.path.commonprefix([key for _, key in files])
    prefix = common[: common.rfind("/") + 1]  # the folder every key is under
    sizes = existing if existing is not None else existing_sizes(s3, platform.bucket, prefix)
    bar = Bar(f"Uploading to s3://{platform.bucket}/{prefix}", len(files), show)
    counts = {"uploaded": 0, "skipped": 0, "bytes": 0}
    lock = threading.Lock()

    def send(path: Path, key: str) -> None:
        # A file of up to IN_MEMORY_BYTES is read once: the bytes hashed are the bytes sent, even if
        # the file changes meanwhile (the stored digest decides later uploads). A larger one is
        # streamed; its digest goes as ChecksumSHA256 too, so S3 refuses a body that changed after it
        # was hashed (docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
        data = read_small(path)
        digest, size = (hashlib.sha256(data).hexdigest(), len(data)) if data is not None else (sha256_of_file(path), path.stat().st_size)
        what = f"upload {path} to s3://{platform.bucket}/{key}"
        with aws_errors(what):
            if sizes.get(key) == size:
                stored = s3.head_object(Bucket=platform.bucket, Key=key).get("Metadata", {}).get(SHA256_METADATA)
                if stored == digest:
                    with lock:
                        counts["skipped"] += 1
                    return
            with (contextlib.nullcontext(data) if data is not None else path.open("rb")) as body:
                s3.put_object(Bucket=platform.bucket, Key=key, Body=body, ServerSideEncryption="aws:kms",
                              SSEKMSKeyId=platform.kms_key_arn, Metadata={SHA256_METADATA: digest},
                              ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"))
        with lock:
            counts["uploaded"] += 1
            counts["bytes"] += size

    failures = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(send, path, key): path for path, key in files}
        try:
            for future in as_completed(futures):
                try:
                    future.result()
                except (FruitsError, OSError, ValueError) as error:  # this file only: the others go on
                    failures.append(failure_line(futures[future], error))
                bar.advance()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    if failures:
        raise UploadsFailed(f"{len(failures)} of {len(files)} files not uploaded to s3://{platform.bucket}/{prefix} "
                            f"({counts['uploaded']} uploaded, {counts['skipped']} already there): run the same command "
                            "again to retry them (the files already there are skipped)", sorted(failures))
    return counts


IN_MEMORY_BYTES = 64 << 20  # photos and the weights; the wheelhouse's largest wheels are streamed


def read_small(path: Path) -> bytes | None:
    """The file's bytes if it is at most IN_MEMORY_BYTES, else None (a large file is not read here:
    it is hashed, then streamed)."""
    if path.stat().st_size > IN_MEMORY_BYTES:
        return None
    with path.open("rb") as handle:  # bounded: the file may have grown since
        data = handle.read(IN_MEMORY_BYTES + 1)
    return data if len(data) <= IN_MEMORY_BYTES else None


def failure_line(path: Path, error: Exception) -> str:
    if isinstance(error, FruitsError):  # an AWS error, already `upload PATH to s3://...: what went wrong`
        return str(error)
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # a name that is not UTF-8 shows its bytes
    if isinstance(error, UnicodeEncodeError):
        return f"upload {shown}: its name is not valid UTF-8, which S3 keys must be: rename the file"
    if isinstance(error, OSError):
        return f"upload {shown}: {error.strerror or error}"
    return f"upload {shown}: {error}"
