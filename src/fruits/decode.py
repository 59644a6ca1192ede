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
    """Bytes of one image file -> float32 array (size, size, 3) with values 0..255.

    Memory: at most two full-size buffers live at once (the decoded image and its RGB version;
    Pillow keeps 4 bytes a pixel for RGB, RGBA, LA, CMYK), about 800 MB for a 10,000 x 10,000
    image. The per-pixel steps (16-to-8 bits, alpha composite, RGB conversion) run a band of rows
    at a time, with the same Pillow and numpy operations as on the whole image, so the pixels are
    the ones whole-image processing gives; any change to them needs PREPROCESSING_VERSION bumped.
    """
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
            image = ImageOps.exif_transpose(image)  # rebinding frees the decoded original
            rgb = _to_rgb(image)
            del image  # the RGB version is all the resize needs
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image: Pillow cannot identify the file format") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(f"corrupt or truncated image: {error}") from None
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


# Pixels per band of the banded steps: 4 MiB per band buffer at 4 bytes a pixel.
_BAND_PIXELS = 1 << 20


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):  # 16-bit gray opens as I;16 (or I): convert() would clip it to white
        with_alpha = "transparency" in image.info  # _gray_16_to_8_bits gives LA, else L
        piece = _gray_16_to_8_bits
    else:
        # "transparency": the one colour a PNG without alpha channel names transparent (its tRNS chunk)
        with_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if not with_alpha:
            # Whole image: convert() of a mode without alpha needs just the output buffer.
            # RGB already: convert() would return an identical copy, so skip it.
            return image if image.mode == "RGB" else image.convert("RGB")
        piece = _crop_rows
    # Band by band into one RGB image: converting the whole image first would hold the RGBA
    # version, a white background and the composite, each as big as the RGB output. Every step
    # is per pixel, so a band's pixels are those of the whole-image operation.
    width, height = image.size
    rgb = Image.new("RGB", image.size)
    rows = max(1, _BAND_PIXELS // max(width, 1))
    background = None
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        band = piece(image, top, bottom)
        if with_alpha:
            band = band.convert("RGBA")
            if background is None or background.size != band.size:
                background = Image.new("RGBA", band.size, (255, 255, 255, 255))
            band = Image.alpha_composite(background, band)
        rgb.paste(band.convert("RGB"), (0, top))
    return rgb


def _crop_rows(image: Image.Image, top: int, bottom: int) -> Image.Image:
    return image.crop((0, top, image.width, bottom))


def _gray_16_to_8_bits(image: Image.Image, top: int, bottom: int) -> Image.Image:
    """Rows top..bottom of a 16-bit gray image as 8-bit L, or LA if the image names a transparent value."""
    values = np.asarray(_crop_rows(image, top, bottom))
    if values.min() < 0 or values.max() > 0xFFFF:
        raise ImageRejected(f"unsupported pixel format: {image.mode} values beyond 16 bits")
    gray = (values.astype(np.uint32) >> 8).astype(np.uint8)
    if "transparency" not in image.info:
        return Image.fromarray(gray, "L")
    alpha = np.where(values == image.info["transparency"], 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([gray, alpha]), "LA")
