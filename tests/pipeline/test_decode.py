"""Decoding of real and bad image files (no Spark): what becomes model input and what is rejected."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from fruits.decode import ImageRejected, decode_image

from .images import jpeg_bytes, png_with_alpha, solid_png


def test_sample_jpeg_matches_keras_own_loader(sample_images):
    import keras

    path = sorted((sample_images / "Banana 1").glob("*.jpg"))[0]
    reference = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(224, 224), interpolation="bilinear"))
    assert np.array_equal(decode_image(path.read_bytes()), reference)


def test_png_alpha_is_composited_on_white():
    pixels = decode_image(png_with_alpha())
    assert pixels.shape == (224, 224, 3)
    assert pixels[0, 0].tolist() == [255, 255, 255]  # transparent corner: white, not black
    assert pixels[112, 112].tolist() == [255, 0, 0]


def test_grayscale_jpeg_becomes_three_equal_channels():
    pixels = decode_image(jpeg_bytes(80, 60, mode="L"))
    assert pixels.shape == (224, 224, 3)
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    image.paste((255, 255, 0), (0, 0, 100, 100))  # left half yellow
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    pixels = decode_image(buffer.getvalue())
    top, bottom = pixels[10, 112], pixels[214, 112]
    assert top[0] > 200 and top[1] > 200  # yellow went to the top after rotation
    assert bottom[2] > 200 and bottom[0] < 60


def test_huge_photo_decodes_fast_at_reduced_scale():
    data = jpeg_bytes(6000, 4000, seed=1)
    started = time.monotonic()
    pixels = decode_image(data)
    assert pixels.shape == (224, 224, 3)
    assert time.monotonic() - started < 5  # a full 24-megapixel decode is not needed


def test_pixel_bomb_is_rejected_before_decoding():
    with pytest.raises(ImageRejected, match=r"image too large: 20000x20000 pixels"):
        decode_image(solid_png(20000, 20000))


def test_limit_is_a_setting():
    with pytest.raises(ImageRejected, match="image too large"):
        decode_image(jpeg_bytes(300, 300), max_pixels=50_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"this is a text file, not a photo", "not an image"),
        (jpeg_bytes(120, 120)[:700], "corrupt or truncated image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt or truncated image|not an image"),
    ],
    ids=["empty", "text", "truncated-jpeg", "broken-png"],
)
def test_bad_files_are_rejected_with_a_reason(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        decode_image(data)
