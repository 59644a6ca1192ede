"""`fruits upload`: a local folder of labelled images (one sub-folder per fruit) to the bucket's
image prefix, chosen by the pipeline's own input rules (fruits.input_files): exactly the images a
local run of that folder featurizes are sent, as LABEL/NAME, so the cloud run sees the same ones.

Usage: `summary = upload_images(s3, platform, Path("photos"), dataset="fruits-360")` -> the
transfer counts, "images", "labels", "uri", "not_sent" [(LABEL/NAME, reason)],
"not_sent_by_reason" {category: count}, "ignored" (the files not sent for their type) and
"refused" [(LABEL/NAME, reason)] (the photos not sent because a run would reject them), "missing"
(the count of photos under the prefix that the folder lacks) and "deleted".

The prefix is what a cloud run reads, so photos already there that the folder lacks (a photo
moved to another fruit, one deleted, another folder uploaded under the same dataset) would be
read too: `missing="refuse"` (the default) sends nothing and says so, "keep" keeps them (this
folder adds to the dataset), "delete" removes them once every upload succeeded.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from fruits.cloud.aws import aws_errors
from fruits.cloud.transfer import existing_sizes, upload_files
from fruits.errors import FruitsError
from fruits.input_files import Listing, list_local_folder, look_alike_labels, refuse_look_alike_labels, shown
from fruits.settings import IMAGE_SUFFIXES

UNSUPPORTED_TYPE = "unsupported file type"
# docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: a key is at most 1,024 bytes of
# UTF-8, its prefix included. S3 refuses a longer one file by file: checked before anything is sent.
MAX_KEY_BYTES = 1024
MISSING_CHOICES = ("refuse", "keep", "delete")
# docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html: at most 1,000 keys per request.
DELETE_BATCH = 1000


def labelled_images(folder: Path) -> Listing:
    """The pipeline's listing of `folder`; a clear error if it holds no image to send."""
    if not folder.is_dir():
        raise FruitsError(f"no such folder: {folder}")
    listing = list_local_folder(folder)
    if not listing.accepted:
        reasons = Counter(entry.reason.split(":")[0] for entry in listing.rejected)
        found = f" (found: {', '.join(f'{count} {reason}' for reason, count in reasons.most_common())})" if reasons else ""
        raise FruitsError(f"no images in {folder}: expected one sub-folder per fruit with .jpg, .jpeg or .png files "
                          f"(e.g. {folder}/apple/1.jpg){found}")
    refuse_look_alike_labels(listing, str(folder), "nothing sent")
    return listing


def upload_images(s3, platform, folder: Path, dataset: str, show: bool = True, missing: str = "refuse") -> dict:
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be one of {MISSING_CHOICES}, not {missing!r}")
    prefix = platform.layout.images_prefix(dataset)
    listing = labelled_images(folder)
    files = [(Path(listing.path_of(image.relative)), prefix + image.relative) for image in listing.accepted]
    require_short_keys([key for _, key in files])
    sent, there = {key for _, key in files}, existing_sizes(s3, platform.bucket, prefix)
    # What a run of this dataset reads as photos: LABEL/NAME. A key deeper down is a dataset below
    # this one (`2026/apples` under `2026`), which a run of this one rejects as a nested folder.
    absent = [key for key in there if key.lower().endswith(IMAGE_SUFFIXES) and key.removeprefix(prefix).count("/") == 1
              and key not in sent]
    if absent and missing == "refuse":
        example = shown(absent[0].removeprefix(prefix))
        raise FruitsError(f"{len(absent)} photos under s3://{platform.bucket}/{prefix} are not in {folder} (e.g. {example}), "
                          "and a cloud run reads every photo there: pass --delete-missing to remove them from the "
                          "bucket (its versioning keeps them 30 days) or --keep-missing to add this folder to them; "
                          "nothing sent")
    if missing == "keep":
        refuse_look_alike_kept_labels(listing, {key.removeprefix(prefix).split("/")[0] for key in absent},
                                      folder, f"s3://{platform.bucket}/{prefix}")
    summary = upload_files(s3, platform, files, show=show, existing=there)  # raises when any upload failed: nothing deleted then
    deleted = delete_keys(s3, platform.bucket, absent) if missing == "delete" else 0
    return {**summary, "images": len(listing.accepted), "uri": f"s3://{platform.bucket}/{prefix}",
            "missing": len(absent), "deleted": deleted,
            "labels": len({image.label for image in listing.accepted}),
            "not_sent": [(entry.relative, entry.reason) for entry in listing.rejected],
            "not_sent_by_reason": dict(Counter(entry.reason.split(":")[0] for entry in listing.rejected)),
            "ignored": [Path(listing.path_of(entry.relative)) for entry in listing.rejected
                        if entry.reason.startswith(UNSUPPORTED_TYPE)],
            "refused": [(entry.relative, entry.reason) for entry in listing.rejected if not entry.reason.startswith(UNSUPPORTED_TYPE)]}


def refuse_look_alike_kept_labels(listing: Listing, kept: set[str], folder: Path, uri: str) -> None:
    """With --keep-missing, the folder's labels join those of the photos kept under `uri`: a label
    typed on macOS (NFD: e + ´) beside the same label sent from Linux (NFC: é) became two fruits
    that read the same, which the next cloud run refuses only once its cluster has started."""
    pair = look_alike_labels({image.label for image in listing.accepted} | kept)
    if pair:
        first, second, shown_as = pair
        named = lambda label: f"{f'{uri}{label}/' if label in kept else f'{folder}/{label}'} (label {ascii(label)})"  # noqa: E731
        raise FruitsError(shown(f"{named(first)} and {named(second)} would be two fruits that read the same ({shown_as!r}: "
                                "they differ only in Unicode normalisation, invisible characters or spaces around the name): "
                                "rename the folder to the bucket's spelling, or upload with --delete-missing; nothing sent"))


def require_short_keys(keys: list[str]) -> None:
    """Refuses keys S3 would refuse for their length, naming the longest."""
    too_long = [(size, key) for key in keys if (size := len(key.encode("utf-8"))) > MAX_KEY_BYTES]
    if too_long:
        size, longest = max(too_long)
        raise FruitsError(f"{len(too_long)} images would get S3 keys longer than S3's {MAX_KEY_BYTES} bytes (the longest: "
                          f"{size} bytes, {longest[:60]!r}...): shorten the dataset, label or file names; nothing sent")


# Characters XML 1.0 cannot carry, not even as a character reference: DeleteObjects sends its keys in
# an XML body, where botocore writes them raw, and the whole batch is refused as malformed (S3 asks
# for "replacement" of such keys in XML requests: docs.aws.amazon.com/AmazonS3/latest/API/API_ObjectIdentifier.html).
# A key holding one is deleted alone, with DeleteObject, its key in the URL.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def delete_keys(s3, bucket: str, keys: list[str]) -> int:
    """Deletes `keys` (current versions: the bucket's versioning keeps the old ones); raises naming
    the first key S3 refused."""
    alone = [key for key in keys if NOT_IN_XML.search(key)]
    batched = [key for key in keys if not NOT_IN_XML.search(key)]
    for done, key in enumerate(alone):
        with aws_errors(f"delete {shown(key)} from s3://{bucket}/ ({done} of {len(keys)} deleted; run the upload again)"):
            s3.delete_object(Bucket=bucket, Key=key)
    for start in range(0, len(batched), DELETE_BATCH):
        batch = batched[start:start + DELETE_BATCH]
        with aws_errors(f"delete {len(batch)} photos from s3://{bucket}/"):
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise FruitsError(f"{len(answer['Errors'])} photos could not be deleted from s3://{bucket}/ (the first, "
                              f"{shown(first.get('Key', '?'))}: {first.get('Code')} {first.get('Message', '')}); "
                              f"{len(alone) + start} were; run the upload again")
    return len(keys)
