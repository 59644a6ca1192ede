"""The input rules, in one place: which files under an images folder become model input, which
label each gets, and the reason every other entry is rejected. The pipeline (local folders and
`s3://`) and `fruits upload` share them, so a local run and a cloud run of one folder see the same
images. No Spark here: remote listings come in as (URI, size) pairs.

Usage:
    listing = list_local_folder(Path("photos"))                  # walks the folder itself
    listing = classify_listed("s3://b/images/x", [("s3://b/images/x/Apple/1.jpg", 5120), ...])
    listing.accepted  -> [InputFile(relative="Apple/1.jpg", label="Apple", size=5120)]
    listing.rejected  -> [Rejection(relative, label, reason)];  listing.path_of(relative)
    first_per_label(listing, 30).accepted  -> the first 30 images (by name) of each label

Rules (README, "Bad files do not fail a run"): an image is ROOT/LABEL/NAME with a .jpg/.jpeg/.png
suffix and a size between 1 byte and the limit; its label is LABEL. Rejected, each with its
reason: files directly in ROOT (no label) or deeper than LABEL/ (which folder would be the label
is a guess); names with a part starting with '_' or '.' (Spark and Hadoop skip them as metadata:
_SUCCESS, .crc, .DS_Store); names with ':' (Hadoop reads it as a URI scheme) or not UTF-8; other
suffixes; empty or too large files; files that cannot be opened; broken symlinks, FIFOs and
devices. Folder symlinks are followed once: never back into the input, into a folder already
listed or into one that holds the input; below a label, a folder outside the input is rejected
whole, not walked. A file symlink is read as the file it points to.
"""
from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

from fruits.errors import FruitsError
from fruits.settings import IMAGE_SUFFIXES

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
HIDDEN_PREFIXES = ("_", ".")
NOT_FOLLOWED = "symlink not followed"
# Hadoop's Path rewrites an S3 key's '//', '.' and '..' parts and a trailing '/': two keys can
# list as one path, which could read only one of them.
SAME_PATH = ("unsupported name: several objects list as this path (S3 keys that differ by '//', '.' or '..' parts or "
             "a trailing '/', which Hadoop rewrites); rename them")


class InputFile(NamedTuple):
    relative: str  # LABEL/NAME under the root: also the key under the bucket's dataset prefix
    label: str
    size: int
    # The listing's mark of this version of the file: local_stamp() for a local file, the modification
    # time in ms for an object (each upload sets it). With the path and size it says "unchanged"
    # (fruits.content_index).
    stamp: str = ""


class Rejection(NamedTuple):
    relative: str
    label: str | None
    reason: str  # "category: details"; the part before ':' is what summaries count


@dataclass
class Listing:
    root: str  # a local folder or a URI, without a trailing '/'
    accepted: list[InputFile] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def entries_found(self) -> int:
        """Files found plus links not followed: each is either accepted or rejected."""
        return len(self.accepted) + len(self.rejected)

    def path_of(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def accept(self, relative: str, size: int, stamp: str = "") -> None:
        self.accepted.append(InputFile(relative, relative.split("/")[0], size, stamp))

    def reject(self, relative: str, reason: str) -> None:
        shown = readable(relative)
        parts = shown.split("/")
        self.rejected.append(Rejection(shown, parts[0] if len(parts) > 1 else None, reason))


def is_utf8(name: str) -> bool:
    """`name` (from os.fsdecode) was valid UTF-8 bytes: Spark and Hadoop can take it."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def readable(name: str) -> str:
    """`name` as valid UTF-8 text: bytes that are not UTF-8 (os.fsdecode's surrogates) shown as
    backslash escapes, so that two such names stay two names."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def shown(name: str) -> str:
    """`name` on one line of a terminal: readable(), and control characters (a newline, a tab)
    as their escapes, so that a name cannot break a listing or fake another line."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in readable(name))


def rejection_reason(relative: str, size: int, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str | None:
    """Why the file at `relative` (a '/'-separated path under the root) is not read; None if it is."""
    parts = relative.split("/")
    hidden = next((part for part in parts if part.startswith(HIDDEN_PREFIXES)), None)
    if hidden is not None:
        return f"name starts with '_' or '.': {hidden!r} (Spark and Hadoop skip such names as metadata); rename it to include it"
    if ":" in relative:
        return "unsupported name: ':' in a file or folder name (Hadoop reads it as a URI scheme); rename it to include it"
    if not is_utf8(relative):
        return "unsupported name: not valid UTF-8; rename it to include it"
    if len(parts) == 1:
        return "not in a label folder: images go in IMAGES/LABEL/NAME, and the folder name is the label"
    if len(parts) > 2:
        return f"nested folder: only IMAGES/LABEL/NAME is read, not deeper folders such as {'/'.join(parts[:-1])!r}"
    if not relative.lower().endswith(IMAGE_SUFFIXES):
        return "unsupported file type (expected .jpg, .jpeg or .png)"
    if size == 0:
        return "empty file"
    if size > max_file_bytes:
        return f"file too large: {size} bytes (limit {max_file_bytes:,})"
    return None


def classify_listed(root: str, files: Iterable[tuple], max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Listing:
    """The rules applied to a listing made elsewhere (object stores: no symlinks, no permissions
    per file): (path, size) or (path, size, stamp) each; each path must start with `root` + '/'."""
    listing = Listing(root.rstrip("/"))
    start = len(listing.root) + 1
    files = list(files)
    seen = Counter(path for path, *_ in files)
    for path, size, *stamp in files:
        relative = path[start:]
        reason = SAME_PATH if seen[path] > 1 else rejection_reason(relative, size, max_file_bytes)
        if reason is None:
            listing.accept(relative, size, *stamp)
        else:
            listing.reject(relative, reason)
    return listing


def refuse_look_alike_labels(listing: Listing, where: str, consequence: str = "nothing written") -> None:
    """A FruitsError when two labels of the accepted files would read as one: they differ only by
    Unicode normalisation ("Café" typed as é or as e + ´, as macOS and Linux may each write it)
    or by spaces around the name ("Kiwi " and "Kiwi"), or by invisible format characters (a
    byte-order mark, a zero-width space or joiner: Unicode's category Cf; a variation selector), or
    only in the kind of space (a no-break space, as Option+Space types on a Mac). Each would be a class of
    its own that every table and plot shows twice under one name."""
    pair = look_alike_labels({file.label for file in listing.accepted})
    if pair:
        first, second, shown_as = pair
        raise FruitsError(f"the folders {first!r} and {second!r} under {where} would be two fruits that read "
                          f"the same ({shown_as!r}: they differ only in Unicode normalisation, invisible characters "
                          f"or spaces around the name): rename or merge them; {consequence}")


def look_alike_labels(labels) -> tuple[str, str, str] | None:
    """Two of `labels` that read the same (see refuse_look_alike_labels), with how they read; or None."""
    seen: dict[str, str] = {}
    for label in sorted(labels):
        shown_as = reads_as(label)
        if shown_as in seen:
            return seen[shown_as], label, shown_as
        seen[shown_as] = label
    return None


# Characters that draw nothing and are not format characters (Cf): Unicode's other default-ignorable
# code points. The combining grapheme joiner and the variation selectors (which a keyboard or an
# emoji picker may leave after a name), the Mongolian ones, the Khmer inherent vowels, the Hangul
# fillers, and the code points reserved as default-ignorable (unassigned today: drawn as nothing).
INVISIBLE = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810), 0x2065, 0x3164, *range(0xFE00, 0xFE10),
                       0xFFA0, *range(0xFFF0, 0xFFF9), *range(0xE0000, 0xE1000)])


def reads_as(name: str) -> str:
    """How `name` reads on screen: NFC, without invisible format characters (Cf) or marks
    (INVISIBLE), every space (Zs: a no-break space, a narrow one) as a plain space, and
    none around the name."""
    visible = "".join(" " if unicodedata.category(char) == "Zs" else char
                      for char in unicodedata.normalize("NFC", name)
                      if unicodedata.category(char) != "Cf" and ord(char) not in INVISIBLE)
    return unicodedata.normalize("NFC", visible).strip()


def list_local_folder(root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Listing:
    """Walks `root` (sorted, so the result is the same every time) and applies the rules; accepted
    files are also opened once, so that one the run cannot read is rejected here."""
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise FruitsError(f"images location not found: {root}")
    listing = Listing(str(root))
    real_root = os.path.realpath(root)
    try:
        entries = _sorted_entries(str(root))
    except OSError as error:
        raise FruitsError(f"cannot read the images folder {root}: {_describe(error)}") from None
    _walk(listing, entries, "", {real_root: ""}, real_root, max_file_bytes)
    return listing


def first_per_label(listing: Listing, per_label: int | None, labels: int | None = None) -> Listing:
    """A sample of `listing`: the first `per_label` accepted files (by name) of each of its first
    `labels` labels (by name); None takes them all. Same root; the rejected entries are left out."""
    taken = dict.fromkeys(sorted({file.label for file in listing.accepted})[:labels], 0)
    sample = Listing(listing.root)
    for file in sorted(listing.accepted):
        if file.label in taken and (per_label is None or taken[file.label] < per_label):
            taken[file.label] += 1
            sample.accepted.append(file)
    return sample


def hold_back_last(listing: Listing, share: float) -> tuple[Listing, Listing]:
    """(first run, held back): each label's accepted files (by name) split so that its last
    `share` (rounded up: 1 of 2 to 10 images, 2 of 11 to 20, for 0.1) is held back for a later run.
    A fruit's only image is never held back, nor all of its images: every fruit must exist in
    the first run. Both listings have `listing`'s root; the rejected entries are left out."""
    from math import ceil

    by_label: dict[str, list[InputFile]] = {}
    for file in sorted(listing.accepted):
        by_label.setdefault(file.label, []).append(file)
    first, later = Listing(listing.root), Listing(listing.root)
    for files in by_label.values():
        # round(): 30 * 0.1 is 3.0000000000000004 in floats, and its last tenth is 3 images, not 4
        kept = len(files) - min(ceil(round(len(files) * share, 9)), len(files) - 1)
        first.accepted += files[:kept]
        later.accepted += files[kept:]
    return first, later


def _sorted_entries(folder: str) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def _walk(listing: Listing, entries: list[os.DirEntry], relative: str, listed: dict[str, str], real_root: str,
          max_file_bytes: int) -> None:
    """`listed`: real path -> relative path of every folder entered so far, so that a folder
    reached again through a symlink (a loop, or a second link) is not listed twice."""
    for entry in entries:
        child = f"{relative}/{entry.name}" if relative else entry.name
        try:
            status = os.stat(entry.path)  # follows symlinks
        except OSError as error:
            listing.reject(child, _stat_failure(entry, error))
            continue
        if stat.S_ISDIR(status.st_mode):
            reason = _folder_not_followed(entry, child, listed, real_root)
            if reason is not None:
                listing.reject(child, reason)
                continue
            listed[os.path.realpath(entry.path)] = child
            try:
                children = _sorted_entries(entry.path)
            except OSError as error:
                listing.reject(child, f"unreadable folder: {_describe(error)}")
                continue
            _walk(listing, children, child, listed, real_root, max_file_bytes)
        elif not stat.S_ISREG(status.st_mode):
            listing.reject(child, "not a regular file: a FIFO, socket or device cannot be read as an image")
        else:
            reason = rejection_reason(child, status.st_size, max_file_bytes) or _open_failure(entry.path)
            if reason is None:
                listing.accept(child, status.st_size, local_stamp(status))
            else:
                listing.reject(child, reason)


def local_stamp(status: os.stat_result) -> str:
    """"MTIME_NS/CTIME_NS/DEVICE/INODE" of a file's (symlink-followed) stat: any write, even one that
    restores the mtime, changes the ctime; a file moved over the path, or a symlink pointed at
    another file, changes the inode, even when both files' times and sizes agree (ctime ticks are
    coarse on some file systems: two files can share one)."""
    return f"{status.st_mtime_ns}/{status.st_ctime_ns}/{status.st_dev}/{status.st_ino}"


def _stat_failure(entry: os.DirEntry, error: OSError) -> str:
    if entry.is_symlink() and error.errno == errno.ELOOP:
        return "broken symlink: it leads back to itself"
    if entry.is_symlink() and error.errno == errno.ENOENT:
        try:
            return f"broken symlink: its target {os.readlink(entry.path)!r} does not exist"
        except OSError:  # the link itself went away meanwhile (e.g. /dev/fd's own entry)
            return "broken symlink: it went away while the folder was listed"
    return f"unreadable: {_describe(error)}"


def _folder_not_followed(entry: os.DirEntry, child: str, listed: dict[str, str], real_root: str) -> str | None:
    """Why the folder `entry` (at `child` under the root) is not walked; None if it is."""
    real = os.path.realpath(entry.path)
    if real in listed:
        where = listed[real] or "the images folder itself"
        return f"{NOT_FOLLOWED}: it leads back to {where!r}, already listed (a loop or a second link)"
    if entry.is_symlink() and _within(real, real_root):
        return f"{NOT_FOLLOWED}: it points inside the images folder, whose files are listed where they are"
    if entry.is_symlink() and _within(real_root, real):
        return f"{NOT_FOLLOWED}: it points to {real!r}, which holds the images folder"
    if "/" in child and not _within(real, real_root):
        # Below a label folder every file is rejected as nested: a folder elsewhere (reached
        # through a link) is rejected whole instead of walked, however big it is.
        return f"nested folder: only IMAGES/LABEL/NAME is read, not deeper folders such as {child!r}"
    return None


def _within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies under it (both real paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _open_failure(path: str) -> str | None:
    """Opening costs little (0.1 s for the 5,107 sample files) and finds what stat cannot: a
    file the run's user may not read."""
    try:
        with open(path, "rb"):
            return None
    except OSError as error:
        return f"unreadable: {_describe(error)}"


def _describe(error: OSError) -> str:
    return (error.strerror or str(error)).lower()
