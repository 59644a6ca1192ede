"""Where a step's seconds go: wall seconds of each phase on the driver, and the seconds the
Python workers spent building the model, decoding and running inference (Spark accumulators,
summed over the workers), with how many images they decoded: more than the step featurized
means some work was done twice.

Usage (driver):
    clock = StepClock(spark)
    with clock.phase("listing"):
        ...
    extract_features(..., worker_clock=clock.workers)   # the UDF adds to it
    summary["timings"] = clock.report()   # {"phases": {...}, "workers": {...}} in seconds
A retried task adds its seconds again: the worker figures are work done, not work needed.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark import Accumulator
from pyspark.sql import SparkSession


@dataclass(frozen=True)
class WorkerClock:
    """Accumulators a worker adds to (picklable into the UDF's closure)."""
    model_build: Accumulator
    decode: Accumulator
    inference: Accumulator
    images: Accumulator

    def report(self) -> dict:
        return {"model_build_seconds": round(self.model_build.value, 2), "decode_seconds": round(self.decode.value, 2),
                "inference_seconds": round(self.inference.value, 2), "images_decoded": int(self.images.value)}


class StepClock:
    def __init__(self, spark: SparkSession):
        context = spark.sparkContext
        self.workers = WorkerClock(*(context.accumulator(0.0) for _ in range(3)), context.accumulator(0))
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.monotonic() - started, 2)

    def report(self) -> dict:
        return {"phases": dict(self.phases), "workers": self.workers.report()}
