"""Shows what a long Spark job is doing: the current phase and its tasks done out of total.

Usage:
    with Progress(spark) as progress:
        progress.phase("Extracting features")
        ...  # Spark actions; a background thread polls the status tracker
On a terminal one line is redrawn; elsewhere (CI, logs) a line is printed every `log_every` s.
"""
from __future__ import annotations

import sys
import threading
import time

from py4j.protocol import Py4JError


class Progress:
    def __init__(self, spark, stream=None, interval: float = 0.5, log_every: float = 15.0, enabled: bool = True):
        self._tracker = spark.sparkContext.statusTracker()
        self._stream = stream or sys.stderr
        self._interval, self._log_every, self._enabled = interval, log_every, enabled
        self._interactive = hasattr(self._stream, "isatty") and self._stream.isatty()
        self._label, self._started = "", time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="fruits-progress", daemon=True)

    def __enter__(self) -> "Progress":
        if self._enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._end_line()

    @property
    def label(self) -> str:
        """The current phase ("" before the first): what a failure happened in."""
        return self._label

    def phase(self, label: str) -> None:
        """Starts a named phase; its elapsed time is shown with the tasks."""
        self._end_line()
        self._label, self._started = label, time.monotonic()
        if self._enabled:
            self._write(f"{label} ...", final=not self._interactive)

    def _tasks(self) -> tuple[int, int]:
        done = total = 0
        for stage_id in self._tracker.getActiveStageIds():
            info = self._tracker.getStageInfo(stage_id)
            if info is not None:
                done += info.numCompletedTasks
                total += info.numTasks
        return done, total

    def _poll(self) -> None:
        last_log = time.monotonic()
        while not self._stop.wait(self._interval):
            try:
                done, total = self._tasks()
            except (Py4JError, OSError):  # Spark's JVM died (killed for memory): the run's own error says so
                return
            if total == 0:
                continue
            elapsed = time.monotonic() - self._started
            bar = "#" * int(20 * done / total)
            text = f"{self._label}: [{bar:<20}] {done}/{total} tasks, {elapsed:.0f} s"
            if self._interactive:
                self._write(text)
            elif time.monotonic() - last_log >= self._log_every:
                self._write(text, final=True)
                last_log = time.monotonic()

    def _write(self, text: str, final: bool = False) -> None:
        if self._interactive and not final:
            self._stream.write("\r\033[K" + text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def _end_line(self) -> None:
        if self._enabled and self._interactive and self._label:
            elapsed = time.monotonic() - self._started
            self._stream.write(f"\r\033[K{self._label}: done in {elapsed:.1f} s\n")
            self._stream.flush()
