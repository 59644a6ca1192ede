"""Parallel, resumable uploads to the platform's bucket: SSE-KMS with the platform's key, and a
file already there with the same SHA-256 is skipped.

Usage:
    summary = upload_files(s3, platform, [(Path("a/b.jpg"), "images/apple/b.jpg")], show=True)
    # {"uploaded": 1, "skipped": 0, "bytes": 5123}
"""
from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fruits.checksums import sha256_of_file
from fruits.cloud.aws import aws_errors

SHA256_METADATA = "sha256"


def existing_sizes(s3, bucket: str, prefix: str) -> dict[str, int]:
    sizes = {}
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return sizes


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


def upload_files(s3, platform, files: list[tuple[Path, str]], show: bool = True, workers: int = 8) -> dict:
    """Upload (local path, key) pairs; skip keys whose stored SHA-256 matches the local file."""
    common = os.path.commonprefix([key for _, key in files])
    prefix = common[: common.rfind("/") + 1]  # the folder every key is under
    sizes = existing_sizes(s3, platform.bucket, prefix)
    bar = Bar(f"Uploading to s3://{platform.bucket}/{prefix}", len(files), show)
    counts = {"uploaded": 0, "skipped": 0, "bytes": 0}
    lock = threading.Lock()

    def send(path: Path, key: str) -> None:
        digest, size = sha256_of_file(path), path.stat().st_size
        what = f"upload {path} to s3://{platform.bucket}/{key}"
        with aws_errors(what):
            if sizes.get(key) == size:
                stored = s3.head_object(Bucket=platform.bucket, Key=key).get("Metadata", {}).get(SHA256_METADATA)
                if stored == digest:
                    with lock:
                        counts["skipped"] += 1
                    return
            with path.open("rb") as body:
                s3.put_object(Bucket=platform.bucket, Key=key, Body=body, ServerSideEncryption="aws:kms",
                              SSEKMSKeyId=platform.kms_key_arn, Metadata={SHA256_METADATA: digest})
        with lock:
            counts["uploaded"] += 1
            counts["bytes"] += size

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(send, path, key) for path, key in files]
        try:
            for future in as_completed(futures):
                future.result()
                bar.advance()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return counts
