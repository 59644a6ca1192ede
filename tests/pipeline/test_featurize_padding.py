"""fruits.model.featurize gives an image the same bits whatever call it comes in: alone, at the
end of a short last chunk, or inside a full batch. TensorFlow's CPU kernels give other bits for
another batch shape, so the last chunk is padded to the batch size; and on some CPUs (an AMD EPYC
here) other bits to the last image of a batch, so Keras gets one black image after every chunk.
Without that, a run that featurizes only the new images (the feature store) could not equal a
full run exactly."""
from __future__ import annotations

import numpy as np
import pytest

from fruits.decode import decode_image
from fruits.model import build_model, featurize, load_weights

pytestmark = pytest.mark.slow  # TensorFlow

BATCH = 8


@pytest.fixture(scope="module")
def model_and_pixels(sample_images, weights_file):
    paths = sorted(sample_images.glob("*/*.jpg"))[:: 97][: BATCH + 3]  # 11 images from several classes
    pixels = np.stack([decode_image(path.read_bytes()) for path in paths])
    return build_model(load_weights(str(weights_file))), pixels


def bits(features: np.ndarray) -> np.ndarray:
    return features.view(np.uint32)


def test_an_image_gets_the_same_bits_alone_as_in_a_full_batch(model_and_pixels):
    model, pixels = model_and_pixels
    together = featurize(model, pixels, BATCH)  # a full chunk of 8, then a padded chunk of 3
    assert together.shape == (len(pixels), 1280) and together.dtype == np.float32
    for index in (0, 5, BATCH, len(pixels) - 1):
        alone = featurize(model, pixels[index : index + 1], BATCH)
        assert np.array_equal(bits(alone[0]), bits(together[index])), f"image {index} alone differs from its batch"
    middle = featurize(model, pixels[3 : BATCH + 2], BATCH)  # other batch-mates, other positions
    assert np.array_equal(bits(middle), bits(together[3 : BATCH + 2]))


def test_padding_is_not_in_the_output(model_and_pixels):
    model, pixels = model_and_pixels
    assert featurize(model, pixels[:3], BATCH).shape == (3, 1280)
    assert featurize(model, pixels[:0], BATCH).shape == (0, 1280)
