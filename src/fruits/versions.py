"""Versions of what ran, for the run manifest: `package_versions(spark)`."""
from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("fruits", "pyspark", "tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "pyarrow", "pillow", "onnxruntime", "onnx")


def package_versions(spark=None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    if spark is not None:
        versions["spark"] = spark.version
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
