"""Builders of small real image files for the tests: sample subsets and deliberately bad files."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def copy_subset(sample: Path, destination: Path, per_class: int, classes: int | None = None) -> Path:
    """The first `per_class` images (sorted by name) of each class folder, copied."""
    folders = sorted(p for p in sample.iterdir() if p.is_dir())[:classes]
    for folder in folders:
        target = destination / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for image in sorted(folder.glob("*.jpg"))[:per_class]:
            shutil.copy(image, target / image.name)
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
