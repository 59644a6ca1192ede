"""`fruits upload`: a local folder of labelled images (one sub-folder per fruit) to the bucket's
image prefix. Usage: `summary = upload_images(s3, platform, Path("photos"), dataset="fruits-360")`."""
from __future__ import annotations

from pathlib import Path

from fruits.cloud.transfer import upload_files
from fruits.errors import FruitsError
from fruits.settings import IMAGE_SUFFIXES


def labelled_images(folder: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """(file, "LABEL/NAME") for every image the pipeline reads (.jpg, .jpeg, .png) in folder's
    sub-folders, and the other files there (not sent); a clear error if there is no image."""
    if not folder.is_dir():
        raise FruitsError(f"no such folder: {folder}")
    files = sorted(path for path in folder.glob("*/*") if path.is_file())
    found = [(path, f"{path.parent.name}/{path.name}") for path in files if path.suffix.lower() in IMAGE_SUFFIXES]
    if not found:
        raise FruitsError(f"no images in {folder}: expected one sub-folder per fruit with .jpg, .jpeg or .png files "
                          f"(e.g. {folder}/apple/1.jpg)")
    return found, [path for path in files if path.suffix.lower() not in IMAGE_SUFFIXES]


def upload_images(s3, platform, folder: Path, dataset: str, show: bool = True) -> dict:
    prefix = f"{platform.prefixes['images']}{dataset}/"
    found, ignored = labelled_images(folder)
    summary = upload_files(s3, platform, [(path, prefix + relative) for path, relative in found], show=show)
    return {**summary, "images": len(found), "ignored": ignored, "uri": f"s3://{platform.bucket}/{prefix}",
            "labels": len({relative.split("/")[0] for _, relative in found})}
