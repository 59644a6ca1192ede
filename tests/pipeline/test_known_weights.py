"""The feature store remembers the weights files Keras loaded (fruits.weights_fingerprints), so a
later run keys its features without TensorFlow on the driver and the workers load the file's
bytes: the same model to the bit, whatever input size. It keeps each file's ONNX graph too, so
that ONNX Runtime's runs import TensorFlow nowhere. A damaged entry is never trusted."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fruits.decode import decode_image
from fruits.model import WeightsFile, build_model, featurize, load_weights, sha256_of_arrays
from fruits.storage import Storage
from fruits.weights import fetch_weights, for_engine
from fruits.weights_fingerprints import Known, KnownWeights, keras_suffix

FILE_SHA = "ab" * 32
ARRAYS_SHA = "cd" * 32


def entry_file(root, file_sha=FILE_SHA):
    return root / "weights" / f"{file_sha}.json"


def test_an_entry_is_kept_under_the_file_s_sha256(spark, tmp_path):
    known = KnownWeights(Storage(spark), str(tmp_path))
    assert known.entry(FILE_SHA) is None
    known.remember(FILE_SHA, Known(ARRAYS_SHA, ".weights.h5"))
    assert known.entry(FILE_SHA) == Known(ARRAYS_SHA, ".weights.h5")
    assert json.loads(entry_file(tmp_path).read_text()) == {
        "file_sha256": FILE_SHA, "sha256_of_arrays": ARRAYS_SHA, "suffix": ".weights.h5"}
    assert known.entry("ef" * 32) is None


@pytest.mark.parametrize("damage", ["not json", "not utf-8", "a list", "another file's", "arrays not a sha256",
                                    "unknown suffix", "no suffix"])
def test_a_damaged_entry_is_ignored(spark, tmp_path, damage):
    record = {"file_sha256": FILE_SHA, "sha256_of_arrays": ARRAYS_SHA, "suffix": ".h5"}
    text = {
        "not json": "{\"file_sha256\": ",
        "a list": json.dumps([record]),
        "another file's": json.dumps({**record, "file_sha256": "ef" * 32}),
        "arrays not a sha256": json.dumps({**record, "sha256_of_arrays": ARRAYS_SHA.upper()}),
        "unknown suffix": json.dumps({**record, "suffix": ".h5/../x"}),
        "no suffix": json.dumps({key: value for key, value in record.items() if key != "suffix"}),
    }.get(damage)
    entry_file(tmp_path).parent.mkdir()
    if damage == "not utf-8":
        entry_file(tmp_path).write_bytes(b"\xff\xfe{}")
    else:
        entry_file(tmp_path).write_text(text)
    assert KnownWeights(Storage(spark), str(tmp_path)).entry(FILE_SHA) is None
    entry_file(tmp_path).write_text(json.dumps(record))  # the same file, undamaged: trusted
    assert KnownWeights(Storage(spark), str(tmp_path)).entry(FILE_SHA) == Known(ARRAYS_SHA, ".h5")


def test_nothing_but_a_sound_entry_is_remembered(spark, tmp_path):
    known = KnownWeights(Storage(spark), str(tmp_path))
    with pytest.raises(ValueError):
        known.remember("../../x", Known(ARRAYS_SHA, ".h5"))
    with pytest.raises(ValueError):
        known.remember(FILE_SHA, Known("not a sha", ".h5"))
    with pytest.raises(ValueError):
        known.remember(FILE_SHA, Known(ARRAYS_SHA, ".txt"))
    assert not (tmp_path / "weights").exists() and not list(tmp_path.parent.glob("x*"))


def test_keras_suffixes_are_told_apart():
    assert [keras_suffix(name) for name in ("a.weights.h5", "a.h5", "b.hdf5", "c.keras", "d.bin", "h5")] == [
        ".weights.h5", ".h5", ".hdf5", ".keras", None, None]


FETCH_KNOWN = textwrap.dedent("""
    import json, sys
    from fruits.session import build_session
    from fruits.storage import Storage
    from fruits.weights import fetch_weights, for_engine
    from fruits.weights_fingerprints import KnownWeights
    spark = build_session("known-weights", master="local[1]")
    known = KnownWeights(Storage(spark), sys.argv[2])
    weights = fetch_weights(None, sys.argv[1], known)
    graph = for_engine(weights, "onnxruntime", 224, known)
    print(json.dumps({"type": type(weights.value).__name__, "suffix": weights.value.suffix,
                      "graph": [type(graph).__name__, len(graph.data)],
                      "bytes": len(weights.value.data), "sha256_of_arrays": weights.sha256_of_arrays,
                      "info": weights.info, "imported": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}))
    spark.stop()
""")


def test_known_weights_are_not_loaded_and_their_bytes_go_to_the_workers(spark, weights_file, tmp_path):
    store = tmp_path / "store"
    hostile = tmp_path / "it's a\nnew: line.weights.h5"  # Keras is never handed this name
    hostile.symlink_to(weights_file)
    known = KnownWeights(Storage(spark), str(store))
    first = fetch_weights(None, str(hostile), known)
    assert first.info["loaded_on_driver"] and isinstance(first.value, list)
    graph = for_engine(first, "onnxruntime", 224, known)  # built from the arrays, and kept
    assert known.graph(first.info["sha256"], 224) == graph.data and known.graph(first.info["sha256"], 160) is None
    assert first.sha256_of_arrays == sha256_of_arrays(first.value)
    # A process of its own, to see that neither TensorFlow nor Keras is imported.
    done = subprocess.run([sys.executable, "-c", FETCH_KNOWN, str(weights_file), str(store)],
                          capture_output=True, text=True, timeout=300)  # the plain name: the same bytes are known
    assert done.returncode == 0, done.stderr[-2000:]
    second = json.loads(done.stdout.strip().splitlines()[-1])
    assert second == {"type": "WeightsFile", "suffix": ".weights.h5", "bytes": weights_file.stat().st_size,
                      "graph": ["OnnxGraph", len(graph.data)],
                      "sha256_of_arrays": first.sha256_of_arrays, "imported": [],
                      "info": {**first.info, "source": str(weights_file), "loaded_on_driver": False}}


def test_a_damaged_entry_makes_keras_load_the_file_and_is_written_again(spark, weights_file, tmp_path):
    known = KnownWeights(Storage(spark), str(tmp_path))
    first = fetch_weights(None, str(weights_file), known)
    entry = entry_file(tmp_path, first.info["sha256"])
    sound = entry.read_text()
    entry.write_text(sound.replace(first.sha256_of_arrays, "0" * 64)[:-5])
    again = fetch_weights(None, str(weights_file), known)
    assert again.info["loaded_on_driver"] and again.sha256_of_arrays == first.sha256_of_arrays
    assert entry.read_text() == sound


@pytest.mark.parametrize("input_size", [224, 160])
def test_a_model_built_from_the_file_s_bytes_gives_the_same_bits(sample_images, weights_file, input_size):
    paths = sorted(sample_images.glob("*/*.jpg"))[::499][:6]
    pixels = np.stack([decode_image(path.read_bytes(), size=input_size) for path in paths])
    from_arrays = featurize(build_model(load_weights(str(weights_file)), input_size), pixels, batch_size=4)
    from_bytes = featurize(build_model(WeightsFile(".weights.h5", weights_file.read_bytes()), input_size), pixels, batch_size=4)
    assert np.array_equal(from_arrays.view(np.uint32), from_bytes.view(np.uint32))
    assert np.abs(from_arrays).sum() > 0


@pytest.mark.parametrize("damage", ["graph cut short", "graph of another file", "record not json", "no record"])
def test_a_damaged_graph_is_not_used_and_is_built_again(spark, weights_file, tmp_path, damage):
    known = KnownWeights(Storage(spark), str(tmp_path))
    weights = fetch_weights(None, str(weights_file), known)
    sound = for_engine(weights, "onnxruntime", 224, known).data
    file_sha = weights.info["sha256"]
    graph_file, record_file = (tmp_path / "weights" / f"{file_sha}.onnx-graph-v1-224px{suffix}" for suffix in (".onnx", ".json"))
    if damage == "graph cut short":
        graph_file.write_bytes(sound[:-100])
    elif damage == "graph of another file":
        record_file.write_text(record_file.read_text().replace(file_sha, "ef" * 32))
    elif damage == "record not json":
        record_file.write_text("{")
    else:
        record_file.unlink()
    assert known.graph(file_sha, 224) is None
    assert for_engine(weights, "onnxruntime", 224, known).data == sound  # built from the arrays again
    assert known.graph(file_sha, 224) == sound  # and kept again


def test_keras_s_workers_get_the_weights_as_fetched(weights_file):
    weights = fetch_weights(None, str(weights_file))
    assert for_engine(weights, "keras", 224) is weights.value
