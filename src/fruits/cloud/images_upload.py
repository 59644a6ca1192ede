"""`fruits upload`: a local folder of labelled images (one sub-folder per fruit) to the bucket's
image prefix. Usage: `summary = upload_images(s3, platform, Path("photos"), dataset="fruits-360")`."""
from __future__ import annotations

from pathlib import Path

from fruits.cloud.transfer import upload_files
from fruits.errors import FruitsError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def labelled_images(folder: Path) -> list[tuple[Path, str]]:
    """(file, "LABEL/NAME") for every image in folder's sub-folders; a clear error if there are none."""
    if not folder.is_dir():
        raise FruitsError(f"no such folder: {folder}")
    found = sorted((path, f"{path.parent.name}/{path.name}") for path in folder.glob("*/*")
                   if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise FruitsError(f"no images in {folder}: expected one sub-folder per fruit (e.g. {folder}/apple/1.jpg)")
    return found


def upload_images(s3, platform, folder: Path, dataset: str, show: bool = True) -> dict:
    prefix = f"{platform.prefixes['images']}{dataset}/"
    found = labelled_images(folder)
    summary = upload_files(s3, platform, [(path, prefix + relative) for path, relative in found], show=show)
    return {**summary, "images": len(found), "uri": f"s3://{platform.bucket}/{prefix}",
            "labels": len({relative.split("/")[0] for _, relative in found})}
