"""MobileNetV2 as an ONNX graph, run by ONNX Runtime: the extract step's default inference engine
(`--engine keras` keeps Keras's `predict_on_batch`, the strict path).

Why (benchmarks/inference_batch_size.py, one thread, as each Spark worker runs): ONNX Runtime runs
the same network with the same weights about twice as fast as Keras, and a fresh Python worker
imports it in 0.1 s against TensorFlow's 3 s. Its features differ from Keras's by at most 4e-5
(activations reach about 6) on the sample images, within the parity test's 1e-4; an image's
features still do not depend on its batch-mates (tests/pipeline/test_onnx_graph.py).

Usage: on the driver, `graph = onnx_graph(network)` (a Keras MobileNetV2 of fruits.model.new_network
with its weights: the layers are read from its config, so another architecture is refused, not
guessed) -> bytes to broadcast as `OnnxGraph(graph)`; on a worker,
`model = OnnxModel(graph, threads=1)`, then `model.predict(pixels)` for raw 0..255 RGB images (the
preprocessing, x / 127.5 - 1 as Keras's preprocess_input, is in the graph).
"""
from __future__ import annotations

import dataclasses

import numpy as np

# Part of the feature store's key (fruits.feature_store_records): bump it whenever the graph built
# here changes, so features computed by an older graph are never reused.
GRAPH_VERSION = 1
OPSET = 17
INPUT, OUTPUT = "pixels", "features"


@dataclasses.dataclass(frozen=True)
class OnnxGraph:
    """The serialised graph, weights included: what the driver broadcasts to the workers."""

    data: bytes = dataclasses.field(repr=False)


class UnsupportedNetwork(ValueError):
    """The Keras network has a layer or setting this converter does not translate."""


def onnx_graph(network) -> bytes:
    """The Keras functional `network` (NHWC input, 0..255 RGB) as a serialised ONNX model (NCHW
    inside), checked by onnx's checker."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    config = network.get_config()
    layers = {layer.name: layer for layer in network.layers}
    nodes, constants, spatial = [], [], {}

    def constant(name: str, value: np.ndarray) -> str:
        constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    size = network.input_shape[1]
    if network.input_shape[1:] != (size, size, 3):
        raise UnsupportedNetwork(f"expected square RGB input (size, size, 3), got {network.input_shape[1:]}")
    # Tensors are named by layer position and kind, not by Keras's names, some of which count the
    # networks built in the process (input_layer_3): the same weights give the same bytes.
    names = {spec["name"]: f"{position:03d}_{spec['class_name']}" for position, spec in enumerate(config["layers"])}
    for spec in config["layers"]:
        kind, keras_name, settings = spec["class_name"], spec["name"], spec["config"]
        name = names[keras_name]
        if kind == "InputLayer":  # NHWC -> NCHW, then preprocess_input's x / 127.5 - 1, in its order
            nodes += [helper.make_node("Transpose", [INPUT], ["nchw"], perm=[0, 3, 1, 2]),
                      helper.make_node("Div", ["nchw", constant("divisor", np.array(127.5, np.float32))], ["scaled"]),
                      helper.make_node("Sub", ["scaled", constant("one", np.array(1.0, np.float32))], [name])]
            spatial[name] = (size, size)
            continue
        inputs = [names[source] for source in _input_names(spec)]
        height, width = spatial[inputs[0]]
        weights = layers[keras_name].get_weights()
        if kind in ("Conv2D", "DepthwiseConv2D"):
            if settings.get("dilation_rate", (1, 1)) not in ((1, 1), [1, 1]) or settings.get("activation", "linear") != "linear" \
                    or settings.get("data_format", "channels_last") != "channels_last" or settings.get("depth_multiplier", 1) != 1:
                raise UnsupportedNetwork(f"{keras_name}: only undilated, linear, channels-last convolutions are translated")
            node, (height, width) = _convolution(kind, name, settings, weights, inputs[0], (height, width), constant)
            nodes.append(node)
        elif kind == "BatchNormalization":
            if not (settings.get("center", True) and settings.get("scale", True)) or settings.get("axis", -1) not in (-1, 3, [3], [-1]):
                raise UnsupportedNetwork(f"{keras_name}: only channel-axis batch normalisation with scale and centre")
            gamma, beta, mean, variance = weights
            nodes.append(helper.make_node("BatchNormalization", [inputs[0], *(constant(f"{name}/{part}", array) for part, array in
                                          zip(("gamma", "beta", "mean", "variance"), (gamma, beta, mean, variance)))],
                                          [name], epsilon=float(settings["epsilon"])))
        elif kind == "ReLU":
            if settings.get("negative_slope", 0) or settings.get("threshold", 0) or settings.get("max_value") is None:
                raise UnsupportedNetwork(f"{keras_name}: only ReLU capped at a maximum (ReLU6) is translated")
            nodes.append(helper.make_node("Clip", [inputs[0], constant(f"{name}/min", np.array(0.0, np.float32)),
                                                   constant(f"{name}/max", np.array(settings["max_value"], np.float32))], [name]))
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = settings["padding"]
            pads = np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
            nodes.append(helper.make_node("Pad", [inputs[0], constant(f"{name}/pads", pads)], [name]))
            height, width = height + top + bottom, width + left + right
        elif kind == "Add":
            nodes.append(helper.make_node("Add", inputs, [name]))
        elif kind == "GlobalAveragePooling2D" and not settings.get("keepdims", False):
            nodes += [helper.make_node("GlobalAveragePool", [inputs[0]], [f"{name}/pooled"]),
                      helper.make_node("Flatten", [f"{name}/pooled"], [name])]
        else:
            raise UnsupportedNetwork(f"layer {keras_name} ({kind}) is not translated to ONNX: use --engine keras")
        spatial[name] = (height, width)
    outputs = config["output_layers"]  # [name, 0, 0], or a list of them
    last = outputs[0] if isinstance(outputs[0], str) else outputs[0][0]
    nodes.append(helper.make_node("Identity", [names[last]], [OUTPUT]))
    features = int(network.output_shape[-1])
    graph = helper.make_graph(nodes, "mobilenet_v2_features",
                              [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, size, size, 3])],
                              [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [None, features])], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fruits.onnx_graph")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _input_names(spec: dict) -> list[str]:
    """The names of the layers feeding `spec` (Keras 3's functional config)."""
    def names(value) -> list[str]:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"][0]]
        if isinstance(value, (list, tuple)):
            return [name for item in value for name in names(item)]
        return []

    if len(spec["inbound_nodes"]) != 1:
        raise UnsupportedNetwork(f"layer {spec['name']} is used {len(spec['inbound_nodes'])} times: shared layers are not translated")
    return names(spec["inbound_nodes"][0]["args"])


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding: the odd pixel goes after (ONNX's SAME_UPPER)."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _convolution(kind, name, settings, weights, source, spatial, constant):
    from onnx import helper

    kernel_height, kernel_width = settings["kernel_size"]
    stride_height, stride_width = settings["strides"]
    height, width = spatial
    if settings["padding"] == "same":
        (top, bottom), (left, right) = _same_padding(height, kernel_height, stride_height), _same_padding(width, kernel_width, stride_width)
    else:
        top = bottom = left = right = 0
    kernel = weights[0]
    if kind == "Conv2D":  # Keras (h, w, in, out) -> ONNX (out, in, h, w)
        onnx_kernel, group = kernel.transpose(3, 2, 0, 1), 1
    else:  # depthwise, Keras (h, w, channels, 1) -> ONNX (channels, 1, h, w), one group per channel
        onnx_kernel, group = kernel.transpose(2, 3, 0, 1), kernel.shape[2]
    inputs = [source, constant(f"{name}/kernel", onnx_kernel)]
    if settings["use_bias"]:
        inputs.append(constant(f"{name}/bias", weights[1]))
    node = helper.make_node("Conv", inputs, [name], kernel_shape=[kernel_height, kernel_width], strides=[stride_height, stride_width],
                            pads=[top, left, bottom, right], group=group)
    return node, ((height + top + bottom - kernel_height) // stride_height + 1,
                  (width + left + right - kernel_width) // stride_width + 1)


class OnnxModel:
    """An ONNX Runtime session of an `onnx_graph`, on the CPU with `threads` threads."""

    def __init__(self, graph: bytes, threads: int = 1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """(n, size, size, 3) RGB values 0..255, float32 -> (n, features) float32."""
        return self._session.run([OUTPUT], {INPUT: np.ascontiguousarray(pixels, dtype=np.float32)})[0]
