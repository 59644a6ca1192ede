"""The ONNX graph of MobileNetV2 (fruits.onnx_graph), run by ONNX Runtime, gives Keras's features
within the parity tolerance on real images, gives an image the same bits whatever its batch, runs
on a worker without TensorFlow, and refuses a network it does not translate."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fruits.decode import decode_image
from fruits.model import build_model, featurize, load_network, load_weights
from fruits.onnx_graph import OnnxGraph, OnnxModel, UnsupportedNetwork, onnx_graph

pytestmark = pytest.mark.slow  # TensorFlow

BATCH = 8
TOLERANCE = 1e-4  # test_features_match_keras's: the largest activations are about 6


@pytest.fixture(scope="module")
def keras_and_graph(weights_file):
    network = build_model(load_weights(str(weights_file)))
    return network, onnx_graph(network)


@pytest.fixture(scope="module")
def pixels(sample_images):
    paths = sorted(sample_images.glob("*/*.jpg"))[::211][:2 * BATCH + 3]  # 19 images across the classes
    return np.stack([decode_image(path.read_bytes()) for path in paths])


def test_the_graph_gives_keras_s_features_within_the_tolerance(keras_and_graph, pixels):
    network, graph = keras_and_graph
    keras_features = featurize(network, pixels, BATCH)
    onnx_features = featurize(OnnxModel(graph), pixels, BATCH)
    assert onnx_features.shape == keras_features.shape == (len(pixels), 1280)
    assert np.abs(onnx_features - keras_features).max() <= TOLERANCE
    assert np.abs(keras_features).max() > 1.0  # real activations


def test_the_same_weights_give_the_same_bytes_however_the_network_was_built(keras_and_graph, weights_file):
    # The driver converts the network it loaded the file into; a store keeps the bytes by the file.
    assert onnx_graph(load_network(str(weights_file))) == keras_and_graph[1]


def test_the_graph_gives_other_input_sizes_too(weights_file, sample_images):
    network = build_model(load_weights(str(weights_file)), input_size=160)
    images = np.stack([decode_image(path.read_bytes(), size=160) for path in sorted(sample_images.glob("*/*.jpg"))[::997][:4]])
    assert np.abs(featurize(OnnxModel(onnx_graph(network)), images, 4) - featurize(network, images, 4)).max() <= TOLERANCE


def test_an_image_gets_the_same_bits_alone_or_in_a_batch(keras_and_graph, pixels):
    model = build_model(OnnxGraph(keras_and_graph[1]))
    together = featurize(model, pixels, BATCH)
    for index in (0, BATCH, len(pixels) - 1):
        alone = featurize(model, pixels[index : index + 1], BATCH)
        assert np.array_equal(alone.view(np.uint32), together[index : index + 1].view(np.uint32))


WORKER = textwrap.dedent("""
    import sys
    import pandas as pd
    from fruits.features import InferenceSettings, featurize_contents, worker_model
    from fruits.onnx_graph import OnnxGraph

    class Holder:  # what a worker's Broadcast offers: .value
        value = OnnxGraph(open(sys.argv[1], "rb").read())

    settings = InferenceSettings()
    model = worker_model(Holder(), settings)
    frame = featurize_contents(model, pd.Series([open(path, "rb").read() for path in sys.argv[2:]]), settings)
    print(len(frame), sum(f is not None for f in frame.features), [m for m in ("tensorflow", "keras") if m in sys.modules])
""")


def test_a_worker_runs_the_graph_without_importing_tensorflow(keras_and_graph, sample_images, tmp_path):
    graph_file = tmp_path / "graph.onnx"
    graph_file.write_bytes(keras_and_graph[1])
    images = [str(path) for path in sorted(sample_images.glob("*/*.jpg"))[:3]]
    done = subprocess.run([sys.executable, "-c", WORKER, str(graph_file), *images], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "3 3 []"


def test_a_network_with_other_layers_is_refused():
    import keras

    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(UnsupportedNetwork, match="Dense"):
        onnx_graph(keras.Model(inputs, dense))
    uncapped = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(keras.layers.Conv2D(4, 3)(inputs)))
    with pytest.raises(UnsupportedNetwork, match="ReLU"):
        onnx_graph(keras.Model(inputs, uncapped))
    dilated = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, dilation_rate=2)(inputs))
    with pytest.raises(UnsupportedNetwork, match="undilated"):
        onnx_graph(keras.Model(inputs, dilated))
