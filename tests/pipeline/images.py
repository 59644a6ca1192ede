"""Builders of small real image files for the tests: sample subsets, deliberately bad files, a
folder with every awkward kind of entry (awkward_input), and a command prefix under which file
permissions apply even to root (without_root_privileges)."""
from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from fruits.input_files import first_per_label, list_local_folder


def copy_subset(sample: Path, destination: Path, per_class: int, classes: int | None = None) -> Path:
    """The first `per_class` images (sorted by name) of each of the first `classes` class folders, copied."""
    listing = first_per_label(list_local_folder(sample), per_class, labels=classes)
    for image in listing.accepted:
        (destination / image.label).mkdir(parents=True, exist_ok=True)
        shutil.copy(listing.path_of(image.relative), destination / image.relative)
    return destination


def jpeg_bytes(width: int, height: int, mode: str = "RGB", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8).squeeze()
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png_with_alpha(width: int = 64, height: int = 64) -> bytes:
    """Red square on a fully transparent (black-valued) background."""
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    pixels[16:48, 16:48] = (255, 0, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def solid_png(width: int, height: int) -> bytes:
    """A tiny file that decodes to a huge image (a decompression bomb for big sizes)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 200).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def png_16_bit(pixels: np.ndarray, transparent: tuple[int, ...] | None = None) -> bytes:
    """A PNG with 16 bits per channel, written chunk by chunk (Pillow cannot save 16-bit colour):
    a uint16 array (h, w) is gray, (h, w, 2) gray + alpha, (h, w, 3) RGB, (h, w, 4) RGBA.
    `transparent`: the gray value or RGB colour that is transparent (a tRNS chunk)."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2").reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    key = b"" if transparent is None else chunk(b"tRNS", struct.pack(f">{len(transparent)}H", *transparent))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + key + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def without_root_privileges(command: list[str]) -> list[str]:
    """`command` run so that file permissions apply: as root, without the capabilities that let
    root read any file (a chmod 000 file is then unreadable, as for any other user)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


def awkward_input(root: Path, sample: Path, outside: Path) -> dict[str, str | None]:
    """A folder with real images in two label folders and one entry of every awkward kind, plus a
    label folder linked from `outside`. Returns {entry relative to root: expected reason category,
    or None for an image that is featurized}."""
    def real_images(fruit: str, folder: Path, count: int = 2) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for image in sorted((sample / fruit).glob("*.jpg"))[:count]:
            shutil.copy(image, folder / image.name)
            names.append(image.name)
        return names

    expected: dict[str, str | None] = {}
    for label, fruit in (("Apple", "Apple Golden 1"), ("Kiwi", "Kiwi 1")):
        expected.update({f"{label}/{name}": None for name in real_images(fruit, root / label)})
    photo = next((root / "Apple").iterdir()).read_bytes()
    expected.update({f"Fav/{name}": None for name in real_images("Mango 1", outside / "Mango")})
    (root / "Fav").symlink_to(outside / "Mango")  # a label folder kept elsewhere: followed
    (root / "Fav again").symlink_to(outside / "Mango")  # the same folder twice: not followed
    expected["Fav again"] = "symlink not followed"
    (outside / "Mango" / "again").symlink_to(outside / "Mango")  # a loop inside the followed folder
    expected["Fav/again"] = "symlink not followed"

    gray = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    entries = {
        "Apple/gray-16-bit.png": (png_16_bit(gray), None),
        "Apple/a:b.jpg": (photo, "unsupported name"),
        "Apple/_draft.jpg": (photo, "name starts with '_' or '.'"),
        "Apple/.hidden.jpg": (photo, "name starts with '_' or '.'"),
        "_Unsorted/x.jpg": (photo, "name starts with '_' or '.'"),
        "Apple/empty.jpg": (b"", "empty file"),
        "Apple/notes.txt": (b"shopping list", "unsupported file type (expected .jpg, .jpeg or .png)"),
        "loose.jpg": (photo, "not in a label folder"),
        "Kiwi/close-ups/1.jpg": (photo, "nested folder"),
    }
    for relative, (data, reason) in entries.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        expected[relative] = reason
    (root / "Kiwi" / "gone.jpg").symlink_to(root / "no-such-file.jpg")
    expected["Kiwi/gone.jpg"] = "broken symlink"
    (root / "Apple" / "loop").symlink_to(root)  # two loops back up the tree
    (root / "Kiwi" / "back").symlink_to(root / "Kiwi")
    expected.update({"Apple/loop": "symlink not followed", "Kiwi/back": "symlink not followed"})
    return expected
