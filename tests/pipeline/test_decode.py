"""Decoding of real and bad image files (no Spark): what becomes model input and what is rejected."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import fruits.decode
from fruits.decode import ImageRejected, decode_image

from .images import jpeg_bytes, png_16_bit, png_with_alpha, solid_png


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


def test_16_bit_png_keeps_its_pixel_values():
    """16 bits per channel become 8 by their high byte, the same for gray as for colour (Pillow
    opens 16-bit gray as mode I;16, which a plain RGB conversion clips to white)."""
    gray = np.zeros((8, 8), dtype=np.uint16)
    gray[:, 4:] = 0x8000  # right half mid-gray, left half black
    gray[0, 0] = 0xFFFF
    pixels = decode_image(png_16_bit(gray), size=8)
    assert pixels[4, 1].tolist() == [0, 0, 0] and pixels[4, 6].tolist() == [128, 128, 128]
    assert pixels[0, 0].tolist() == [255, 255, 255]

    rgb = np.zeros((8, 8, 3), dtype=np.uint16)
    rgb[...] = (0xFF00, 0x8000, 0x0101)
    assert decode_image(png_16_bit(rgb), size=8)[3, 3].tolist() == [255, 128, 1]


def test_16_bit_png_alpha_is_composited_on_white():
    gray_alpha = np.zeros((8, 8, 2), dtype=np.uint16)
    gray_alpha[..., 0] = 0x4000
    gray_alpha[:, 4:, 1] = 0xFFFF  # right half opaque dark gray, left half transparent
    pixels = decode_image(png_16_bit(gray_alpha), size=8)
    assert pixels[4, 1].tolist() == [255, 255, 255] and pixels[4, 6].tolist() == [64, 64, 64]


def pillow_png(pixels: np.ndarray, mode: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "PNG", **options)
    return buffer.getvalue()


def left_half_black(shape, value, dtype) -> np.ndarray:
    pixels = np.zeros(shape, dtype=dtype)
    pixels[:, 4:] = value
    return pixels


@pytest.mark.parametrize(
    ("data", "opaque"),
    [
        (pillow_png(left_half_black((8, 8), 100, np.uint8), "L", transparency=0), [100, 100, 100]),
        (pillow_png(left_half_black((8, 8, 3), (10, 200, 30), np.uint8), "RGB", transparency=(0, 0, 0)), [10, 200, 30]),
        (png_16_bit(left_half_black((8, 8), 0x6400, np.uint16), transparent=(0,)), [100, 100, 100]),
        (png_16_bit(left_half_black((8, 8, 3), (0x0A00, 0xC800, 0x1E00), np.uint16), transparent=(0, 0, 0)), [10, 200, 30]),
    ],
    ids=["gray", "rgb", "gray-16-bit", "rgb-16-bit"],
)
def test_png_transparent_colour_is_composited_on_white(data, opaque):
    """A PNG without an alpha channel can still name one colour transparent (its tRNS chunk)."""
    pixels = decode_image(data, size=8)
    assert pixels[4, 1].tolist() == [255, 255, 255] and pixels[4, 6].tolist() == opaque


def test_huge_photo_is_decoded_at_reduced_scale(monkeypatch):
    """A 24-megapixel JPEG is never decoded whole: libjpeg decodes it at 1/8 scale (its smallest,
    still above 224 pixels), which is what gets rotated and resized."""
    decoded_sizes = []
    transpose = fruits.decode.ImageOps.exif_transpose
    monkeypatch.setattr(fruits.decode.ImageOps, "exif_transpose", lambda image: decoded_sizes.append(image.size) or transpose(image))
    pixels = decode_image(jpeg_bytes(6000, 4000, seed=1))
    assert pixels.shape == (224, 224, 3)
    assert decoded_sizes == [(750, 500)]


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
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),  # a signature alone: Pillow's PNG plugin declines it
    ],
    ids=["empty", "text", "truncated-jpeg", "broken-png"],
)
def test_bad_files_are_rejected_with_a_reason(data, reason):
    with pytest.raises(ImageRejected) as rejected:
        decode_image(data)
    assert str(rejected.value).split(":")[0] == reason
