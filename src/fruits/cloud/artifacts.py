"""`fruits stage`: the code a run executes, under a content-addressed prefix, so that every run
names exactly the code, bootstrap, lock and weights it ran; and the lock's wheelhouse, under
the lock's own hash (fruits.cloud.wheelhouse), which the nodes install from.

Usage:
    plan = plan_artifacts(platform.layout, Path("mobilenet.h5"), scratch)   # local only: files and their hash
    stage_artifacts(s3, platform, plan, wheelhouse)      # wheelhouse, files, then STAGED.json last
    plan.prefix  ->  "artifacts/3f9a1c2b7d40/"
    plan.wheelhouse_prefix  ->  "artifacts/wheelhouse/cp311-manylinux_2_34_x86_64/b471d13aaae391ab/"
The names under the prefix, and the prefix itself, are the bucket's layout (fruits.layout); the
files come from the checkout (fruits.project), the package zip from the package itself.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from fruits import __version__
from fruits.checksums import sha256_of_file
from fruits.cloud.aws import aws_errors
from fruits.cloud.job_package import job_package_files
from fruits.cloud.transfer import object_exists, upload_files
from fruits.cloud.wheelhouse import MANIFEST as WHEELHOUSE_MANIFEST
from fruits.cloud.weights_check import require_mobilenet_v2_weights
from fruits.cloud.wheelhouse import Wheelhouse, stage_wheelhouse, wheelhouse_prefix
from fruits.errors import FruitsError
from fruits.layout import (
    BOOTSTRAP_SCRIPT, EXTRACT_JOB, PACKAGE_FILE, REDUCE_JOB, REQUIREMENTS_LOCK, STAGED_MARKER, WEIGHTS_FOLDER, BucketLayout)
from fruits.project import PACKAGE, checkout_file

FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries get a fixed date: same code, same hash


@dataclass
class ArtifactPlan:
    files: dict[str, Path]          # name under the prefix -> local file
    weights_name: str
    prefix: str                     # ARTIFACTS/DIGEST/
    wheelhouse_prefix: str
    digest: str = ""
    sha256: dict[str, str] = field(default_factory=dict)

    @property
    def weights_key(self) -> str:
        return f"{self.prefix}{self.weights_name}"


def package_zip(target: Path) -> Path:
    """What the two jobs need of the `fruits` package (fruits.cloud.job_package: the modules they
    import, the package data) as a zip for spark-submit --py-files, byte-identical for the same code."""
    jobs = [checkout_file(job, "`fruits stage`") for job in (EXTRACT_JOB, REDUCE_JOB)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in job_package_files(PACKAGE, jobs):
            entry = zipfile.ZipInfo(str(path.relative_to(PACKAGE.parent)), FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    target.write_bytes(buffer.getvalue())
    return target


def plan_artifacts(layout: BucketLayout, weights: Path, staging: Path) -> ArtifactPlan:
    """What `stage` uploads, and the content hash that names its prefix in `layout` (no AWS call);
    a FruitsError, before any hashing, for weights that are not MobileNetV2's (fruits.cloud.weights_check)."""
    sources = {name: checkout_file(name, "`fruits stage`") for name in (EXTRACT_JOB, REDUCE_JOB, BOOTSTRAP_SCRIPT, REQUIREMENTS_LOCK)}
    staging.mkdir(parents=True, exist_ok=True)
    files = {PACKAGE_FILE: package_zip(staging / PACKAGE_FILE), **sources}
    require_mobilenet_v2_weights(weights)  # before hashing it: a wrong file may be GBs (and could not have been staged)
    weights_name = f"{WEIGHTS_FOLDER}{weights.name}"
    files[weights_name] = weights
    sha256 = {name: sha256_of_file(path) for name, path in sorted(files.items())}
    digest = hashlib.sha256(json.dumps(sha256, sort_keys=True).encode()).hexdigest()[:12]
    return ArtifactPlan(files=files, weights_name=weights_name, prefix=layout.artifacts_prefix(digest),
                        wheelhouse_prefix=wheelhouse_prefix(layout, sources[REQUIREMENTS_LOCK]), digest=digest, sha256=sha256)


def require_staged(s3, platform, plan: ArtifactPlan) -> None:
    """A FruitsError saying to run `fruits stage` unless this code and its wheelhouse are staged complete."""
    for key in (plan.prefix + STAGED_MARKER, plan.wheelhouse_prefix + WHEELHOUSE_MANIFEST):
        if not object_exists(s3, platform.bucket, key):
            raise FruitsError(f"this code is not staged (no s3://{platform.bucket}/{key}): run `fruits stage` first")


def stage_artifacts(s3, platform, plan: ArtifactPlan, wheelhouse: Wheelhouse, show: bool = True) -> dict:
    """The wheelhouse of the plan's lock (once per lock), every file (unchanged ones are skipped),
    then STAGED.json: its presence means complete."""
    wheels = stage_wheelhouse(s3, platform, wheelhouse, show=show)
    summary = upload_files(s3, platform, [(path, plan.prefix + name) for name, path in sorted(plan.files.items())], show=show)
    marker = {"fruits_version": __version__, "files": plan.sha256, "wheelhouse": plan.wheelhouse_prefix}
    with aws_errors(f"write s3://{platform.bucket}/{plan.prefix}{STAGED_MARKER}"):
        s3.put_object(Bucket=platform.bucket, Key=plan.prefix + STAGED_MARKER, Body=json.dumps(marker, indent=1).encode(),
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=platform.kms_key_arn)
    return {**summary, "uri": f"s3://{platform.bucket}/{plan.prefix}", "wheelhouse": wheels}
