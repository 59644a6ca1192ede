"""`fruits upload`: a local folder of labelled images (one sub-folder per fruit) to the bucket's
image prefix, chosen by the pipeline's own input rules (fruits.input_files): exactly the images a
local run of that folder featurizes are sent, as LABEL/NAME, so the cloud run sees the same ones.

Usage: `summary = upload_images(s3, platform, Path("photos"), dataset="fruits-360")` -> the
transfer counts, "images", "labels", "uri", "not_sent" [(LABEL/NAME, reason)],
"not_sent_by_reason" {category: count}, "ignored" (the files not sent for their type) and
"refused" [(LABEL/NAME, reason)] (the photos not sent because a run would reject them).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from fruits.cloud.transfer import upload_files
from fruits.errors import FruitsError
from fruits.input_files import Listing, list_local_folder

UNSUPPORTED_TYPE = "unsupported file type"
# docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: a key is at most 1,024 bytes of
# UTF-8, its prefix included. S3 refuses a longer one file by file: checked before anything is sent.
MAX_KEY_BYTES = 1024


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
    return listing


def upload_images(s3, platform, folder: Path, dataset: str, show: bool = True) -> dict:
    prefix = platform.layout.images_prefix(dataset)
    listing = labelled_images(folder)
    files = [(Path(listing.path_of(image.relative)), prefix + image.relative) for image in listing.accepted]
    require_short_keys([key for _, key in files])
    summary = upload_files(s3, platform, files, show=show)
    return {**summary, "images": len(listing.accepted), "uri": f"s3://{platform.bucket}/{prefix}",
            "labels": len({image.label for image in listing.accepted}),
            "not_sent": [(entry.relative, entry.reason) for entry in listing.rejected],
            "not_sent_by_reason": dict(Counter(entry.reason.split(":")[0] for entry in listing.rejected)),
            "ignored": [Path(listing.path_of(entry.relative)) for entry in listing.rejected
                        if entry.reason.startswith(UNSUPPORTED_TYPE)],
            "refused": [(entry.relative, entry.reason) for entry in listing.rejected if not entry.reason.startswith(UNSUPPORTED_TYPE)]}


def require_short_keys(keys: list[str]) -> None:
    """Refuses keys S3 would refuse for their length, naming the longest."""
    too_long = [(size, key) for key in keys if (size := len(key.encode("utf-8"))) > MAX_KEY_BYTES]
    if too_long:
        size, longest = max(too_long)
        raise FruitsError(f"{len(too_long)} images would get S3 keys longer than S3's {MAX_KEY_BYTES} bytes (the longest: "
                          f"{size} bytes, {longest[:60]!r}...): shorten the dataset, label or file names; nothing sent")
