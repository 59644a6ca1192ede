"""Turns an image file's bytes into the 224x224 RGB array MobileNetV2 expects, or a reason why not.

Usage: `pixels = decode_image(data)`; raises `ImageRejected(reason)` for corrupt, truncated,
non-image or oversized files. JPEG/PNG/any format Pillow reads; EXIF rotation applied; alpha, or
a PNG's transparent colour, composited on white (Fruits-360 backgrounds are white);
grayscale/CMYK/palette made RGB; 16 bits per channel reduced to 8 by the high byte (what Pillow
itself does for 16-bit colour PNGs).
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SIZE = 224
# Part of the feature store's key (fruits.feature_store_records): bump it whenever decoding or
# resizing changes a pixel, so features stored by the old code are never reused.
PREPROCESSING_VERSION = 1
DEFAULT_MAX_PIXELS = 100_000_000  # 10,000 x 10,000; decoding more would exhaust a worker's memory

Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with a clear reason, before decoding


class ImageRejected(ValueError):
    """The file cannot become model input; the message is the reason stored in `rejected`."""


def decode_image(data: bytes, size: int = IMAGE_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Bytes of one image file -> float32 array (size, size, 3) with values 0..255."""
    if not data:
        raise ImageRejected("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(f"image too large: {width}x{height} pixels (limit {max_pixels:,})")
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when the photo is big
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image: Pillow cannot identify the file format") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(f"corrupt or truncated image: {error}") from None
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):  # 16-bit gray opens as I;16 (or I): convert() would clip it to white
        image = _gray_16_to_8_bits(image)
    # "transparency": the one colour a PNG without alpha channel names transparent (its tRNS chunk)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _gray_16_to_8_bits(image: Image.Image) -> Image.Image:
    values = np.asarray(image)
    if values.min() < 0 or values.max() > 0xFFFF:
        raise ImageRejected(f"unsupported pixel format: {image.mode} values beyond 16 bits")
    gray = (values.astype(np.uint32) >> 8).astype(np.uint8)
    if "transparency" not in image.info:
        return Image.fromarray(gray, "L")
    alpha = np.where(values == image.info["transparency"], 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([gray, alpha]), "LA")
