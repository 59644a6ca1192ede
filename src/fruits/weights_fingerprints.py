"""What a feature store remembers of the weights files it has seen: a file's SHA-256 -> the
SHA-256 of its arrays (the store's key, fruits.feature_store_records) and the file name suffix
Keras loaded it under. A run whose weights file is known keys its features without loading it:
the driver skips TensorFlow's import (~3 s of each run here), and the workers load the file's
bytes themselves (fruits.model.WeightsFile).

It also keeps each file's ONNX graph (fruits.onnx_graph), so that a run on ONNX Runtime with a
known file imports TensorFlow nowhere, neither on the driver nor on the workers.

Usage (driver): known = KnownWeights(storage, STORE_ROOT)
    known.entry(file_sha256)                  -> Known(arrays_sha256, suffix), or None
    known.remember(file_sha256, Known(...))   once Keras has loaded the file
    known.graph(file_sha256, input_size)      -> the graph's bytes, or None
    known.remember_graph(file_sha256, input_size, graph)
Layout: ROOT/weights/FILE_SHA256.json, and FILE_SHA256.onnx-graph-vV-SIZEpx.onnx beside a .json
record of its SHA-256 (written after it, so a graph cut short or damaged is never used), each
written whole (a staged file moved into place; on S3 one object). An entry is written only after Keras loaded the file, so a known file is one that loads;
an entry that is damaged, or names another file, is ignored (the file is loaded and the entry
written again). Entries are trusted as the store's features are: whoever can write one can
write features too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from py4j.protocol import Py4JJavaError

from fruits.errors import FruitsError
from fruits.feature_store_records import SHA256
from fruits.onnx_graph import GRAPH_VERSION
from fruits.settings import KERAS_WEIGHTS_SUFFIXES as SUFFIXES, keras_suffix  # noqa: F401 (keras_suffix: fruits.weights')
from fruits.storage import Storage, join_uri

FOLDER = "weights"


@dataclass(frozen=True)
class Known:
    arrays_sha256: str  # fruits.model.sha256_of_arrays of the file's arrays
    suffix: str         # one of SUFFIXES: the name ending the file loaded under


class KnownWeights:
    def __init__(self, storage: Storage, root: str):
        self.storage, self.root = storage, root

    def _uri(self, file_sha256: str) -> str:
        if SHA256.fullmatch(file_sha256) is None:
            raise ValueError(f"not a SHA-256: {file_sha256!r}")
        return join_uri(self.root, FOLDER, f"{file_sha256}.json")

    def entry(self, file_sha256: str) -> Known | None:
        """What the store remembers of the file with this SHA-256; None when nothing (usable)."""
        try:
            record = json.loads(self.storage.read_text(self._uri(file_sha256)))
        # FruitsError: none (read_text's "not found"); ValueError: not UTF-8, not JSON;
        # Py4JJavaError: a local file changed behind Hadoop's back fails its checksum.
        except (FruitsError, ValueError, Py4JJavaError):
            return None
        if not isinstance(record, dict) or record.get("file_sha256") != file_sha256:
            return None
        arrays, suffix = record.get("sha256_of_arrays"), record.get("suffix")
        if not isinstance(arrays, str) or SHA256.fullmatch(arrays) is None or suffix not in SUFFIXES:
            return None
        return Known(arrays, suffix)

    def _graph_uri(self, file_sha256: str, input_size: int, suffix: str) -> str:
        name = f"onnx-graph-v{GRAPH_VERSION}-{int(input_size)}px"
        return self._uri(file_sha256).removesuffix(".json") + f".{name}{suffix}"

    def graph(self, file_sha256: str, input_size: int) -> bytes | None:
        """The ONNX graph kept for this weights file and input size, if whole; else None."""
        try:
            record = json.loads(self.storage.read_text(self._graph_uri(file_sha256, input_size, ".json")))
            expected = record.get("graph_sha256") if isinstance(record, dict) else None
            if not isinstance(expected, str) or record.get("file_sha256") != file_sha256:
                return None
            graph = self.storage.read_bytes(self._graph_uri(file_sha256, input_size, ".onnx"))
        except (FruitsError, ValueError, Py4JJavaError):
            return None
        return graph if hashlib.sha256(graph).hexdigest() == expected else None

    def remember_graph(self, file_sha256: str, input_size: int, graph: bytes) -> None:
        self.storage.write_bytes(self._graph_uri(file_sha256, input_size, ".onnx"), graph)
        record = {"file_sha256": file_sha256, "graph_sha256": hashlib.sha256(graph).hexdigest()}
        self.storage.write_text(self._graph_uri(file_sha256, input_size, ".json"), json.dumps(record, indent=2) + "\n")

    def remember(self, file_sha256: str, known: Known) -> None:
        if SHA256.fullmatch(known.arrays_sha256) is None or known.suffix not in SUFFIXES:
            raise ValueError(f"not an entry to remember: {known!r}")
        record = {"file_sha256": file_sha256, "sha256_of_arrays": known.arrays_sha256, "suffix": known.suffix}
        self.storage.write_text(self._uri(file_sha256), json.dumps(record, indent=2) + "\n")
