"""Where the input images and the MobileNetV2 weights come from: an argument, else an
environment variable, else a default that points at the shared sample next to the project.

Usage: `resolve_images(args.images)`, `resolve_weights(args.weights)`; each returns a string
(local path, `s3://` URI, or `imagenet` for weights) or raises FruitsError saying what to do.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from fruits.errors import FruitsError
from fruits.project import shared_path

DEFAULT_IMAGES = shared_path("data", "fruits-360-sample")
DEFAULT_WEIGHTS = shared_path("models", "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5")
IMAGES_ENV = "FRUITS_IMAGES"
WEIGHTS_ENV = "FRUITS_WEIGHTS"
KERAS_IMAGENET = "imagenet"  # the weights Keras downloads itself
REMOTE_SCHEMES = ("s3://", "s3a://", "s3n://", "hdfs://", "file:")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # what the pipeline reads; upload and rehearse send only these


def is_remote(location: str) -> bool:
    """True for URIs that Spark/Hadoop resolve (S3, HDFS), which cannot be checked locally."""
    return location.startswith(REMOTE_SCHEMES) and not location.startswith("file:")


def local_path(location: str) -> str:
    """A local location as a path: "file:///data/x", "file://localhost/data/x" and "file:/data/x" ->
    "/data/x"; a path as it is."""
    for prefix in ("file://localhost/", "file:///"):
        if location.startswith(prefix):
            return "/" + location.removeprefix(prefix)
    return location.removeprefix("file://") if location.startswith("file://") else location.removeprefix("file:")


def refuse_file_host(location: str, option: str, localhost: bool = False) -> None:
    """A FruitsError for file://HOST/... (a folder on another machine), and for file://localhost/
    too unless `localhost`: Hadoop's local file system takes no host ("Wrong FS"), and Python read
    it as the path //HOST/... on this machine."""
    if location.startswith("file://") and not location.startswith("file:///"):
        host = location.removeprefix("file://").split("/", 1)[0]
        if not (localhost and host == "localhost"):
            raise FruitsError(f"{option} {location}: a file: URI with a host ({host!r}) is not a folder of this machine "
                              "that Spark can take: give a path or file:///PATH")


def local_folder(argument: str, option: str, command: str) -> str:
    """A folder option that must be local, as an absolute path ("file:///data/out" -> "/data/out").
    Another URI (s3://, hdfs://, file://HOST/) is refused: it became a folder of that name in the
    current one ("./s3:/b/x"). A colon elsewhere is part of a name ("out:2026")."""
    path = local_path(argument)
    if (is_remote(argument) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", path)
            or (argument.startswith("file://") and not path.startswith("/"))):
        raise FruitsError(f"{option} {argument}: {command} writes to a local folder (a path or file:///...), "
                          "not to a URI")
    return os.path.abspath(path)


NAME_MAX = 255  # bytes in one file or folder name on Linux's file systems (ext4, xfs, tmpfs)


def refuse_long_names(path: Path, what: str) -> None:
    """A FruitsError naming the first part of `path` longer than a file system takes: the OS only
    answers ENAMETOOLONG, which came out as a traceback, or from the JVM once Spark had started."""
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise FruitsError(f"{what}: the name {part[:40]!r}... is {size} bytes long, more than the {NAME_MAX} "
                              "a file system takes: shorten it")


def resolve_images(argument: str | None = None) -> str:
    """The images location: `argument`, then $FRUITS_IMAGES, then the shared sample."""
    location = argument or os.environ.get(IMAGES_ENV) or str(DEFAULT_IMAGES)
    if is_remote(location):
        return location
    refuse_file_host(location, "--images", localhost=True)  # the path below is what Spark gets
    path = Path(local_path(location)).expanduser()
    refuse_long_names(path, f"--images {location}")
    if not path.is_dir():
        raise FruitsError(
            f"images folder not found: {path}. Pass --images FOLDER (one sub-folder per fruit) "
            f"or set {IMAGES_ENV}; an s3:// URI works too."
        )
    return str(path.resolve())


def resolve_weights(argument: str | None = None) -> str:
    """The weights: `argument`, then $FRUITS_WEIGHTS, then the shared .h5 file, else `imagenet`
    (Keras downloads them, which needs internet)."""
    location = argument or os.environ.get(WEIGHTS_ENV)
    if location is None:
        location = str(DEFAULT_WEIGHTS) if DEFAULT_WEIGHTS.is_file() else KERAS_IMAGENET
    if location == KERAS_IMAGENET or is_remote(location):
        return location
    path = Path(location).expanduser()
    refuse_long_names(path, f"--weights {location}")
    if not path.is_file():
        raise FruitsError(
            f"weights file not found: {path}. Pass --weights FILE.h5 (Keras MobileNetV2 1.0/224 "
            f"no-top weights), set {WEIGHTS_ENV}, or use --weights imagenet to let Keras download them."
        )
    return str(path.resolve())


# The name endings Keras's load_weights tells formats by (keras.Model.load_weights; the longest
# first). Here, not in fruits.weights_fingerprints, so that `fruits stage` checks a name without
# importing Spark.
KERAS_WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".keras")


def keras_suffix(name: str) -> str | None:
    """The suffix of KERAS_WEIGHTS_SUFFIXES that `name` ends with (the longest), or None."""
    return next((suffix for suffix in KERAS_WEIGHTS_SUFFIXES if name.endswith(suffix)), None)
