"""Getting the weights on the driver (no Spark, no TensorFlow: Keras's load is replaced): Keras's
download, or a file, each with the fingerprint the manifest records; and one clear error for each
way it fails. A file the feature store knows: tests/pipeline/test_known_weights.py."""
from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import fruits.weights
from fruits.errors import FruitsError
from fruits.weights import fetch_weights, sha256_of_arrays

ARRAYS = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(4, dtype=np.float32)]


class LoadedNetwork:
    """What Keras's loader gives fetch_weights: a network whose get_weights() are `arrays`."""

    def __init__(self, arrays):
        self.arrays = arrays

    def get_weights(self):
        return self.arrays


def loads(monkeypatch, result=None, error: Exception | None = None) -> list[str]:
    """fruits.weights.load_network gives a network of `result` or raises `error`; returns the sources it was asked for."""
    asked = []

    def load_network(source):
        asked.append(source)
        if error is not None:
            raise error
        return LoadedNetwork(result)
    monkeypatch.setattr(fruits.weights, "load_network", load_network)
    monkeypatch.setattr(fruits.weights, "import_tensorflow", lambda notices: None)
    return asked


def test_the_arrays_fingerprint_is_the_sha256_of_their_bytes_in_order():
    expected = hashlib.sha256(ARRAYS[0].tobytes() + ARRAYS[1].tobytes()).hexdigest()
    assert sha256_of_arrays(ARRAYS) == expected
    assert sha256_of_arrays([ARRAYS[0].T]) == hashlib.sha256(np.ascontiguousarray(ARRAYS[0].T).tobytes()).hexdigest()


def test_keras_imagenet_weights_are_fingerprinted_by_their_arrays(monkeypatch):
    asked = loads(monkeypatch, result=ARRAYS)
    weights = fetch_weights(None, "imagenet")
    assert asked == ["imagenet"] and weights.value is ARRAYS and weights.sha256_of_arrays == sha256_of_arrays(ARRAYS)
    assert weights.info == {"source": "imagenet", "sha256_of_arrays": sha256_of_arrays(ARRAYS), "loaded_on_driver": True}


def test_keras_imagenet_weights_without_internet_say_what_to_do(monkeypatch):
    loads(monkeypatch, error=urllib.error.URLError("no route to host"))
    with pytest.raises(FruitsError) as raised:
        fetch_weights(None, "imagenet")
    assert str(raised.value) == ("could not get Keras's imagenet weights (they are downloaded, which needs internet): "
                                 "<urlopen error no route to host>. Pass --weights FILE.h5 instead")


def test_a_weights_file_is_fingerprinted_by_its_bytes(monkeypatch, tmp_path):
    weights = tmp_path / "mobilenet.weights.h5"
    weights.write_bytes(b"the bytes of a weights file")
    asked = loads(monkeypatch, result=ARRAYS)
    fetched = fetch_weights(None, str(weights))
    # Keras loads a private copy of the bytes read, under a plain name with the file's suffix.
    assert [Path(path).name for path in asked] == ["weights.weights.h5"] and fetched.value is ARRAYS
    assert fetched.info == {"source": str(weights), "sha256": hashlib.sha256(b"the bytes of a weights file").hexdigest(),
                            "loaded_on_driver": True}
    assert fetched.sha256_of_arrays == sha256_of_arrays(ARRAYS)


def test_keras_loads_the_bytes_that_were_hashed_not_the_file_again(monkeypatch, tmp_path):
    weights = tmp_path / "mobilenet.weights.h5"
    weights.write_bytes(b"first version")
    seen = []

    def load_network(source):  # the source file changes while the run reads it
        weights.write_bytes(b"second version")
        seen.append(Path(source).read_bytes())
        return LoadedNetwork(ARRAYS)
    monkeypatch.setattr(fruits.weights, "load_network", load_network)
    monkeypatch.setattr(fruits.weights, "import_tensorflow", lambda notices: None)
    fetched = fetch_weights(None, str(weights))
    assert seen == [b"first version"] and fetched.info["sha256"] == hashlib.sha256(b"first version").hexdigest()


def test_a_missing_weights_file_is_named(monkeypatch, tmp_path):
    asked = loads(monkeypatch, result=ARRAYS)
    with pytest.raises(FruitsError) as raised:
        fetch_weights(None, str(tmp_path / "nowhere.h5"))
    assert str(raised.value) == f"weights file not found: {tmp_path / 'nowhere.h5'}" and asked == []


def test_a_file_keras_cannot_load_is_named_with_keras_s_reason(monkeypatch, tmp_path):
    weights = tmp_path / "broken.weights.h5"
    weights.write_bytes(b"not hdf5")
    loads(monkeypatch, error=OSError("Unable to synchronously open file (file signature not found)"))
    with pytest.raises(FruitsError) as raised:
        fetch_weights(None, str(weights))
    assert str(raised.value) == (f"cannot load MobileNetV2 weights from {weights}: "
                                 "Unable to synchronously open file (file signature not found)")
