"""What a benchmark ran on, recorded the same way by every benchmark that writes figures: the
date, the processor, the cores, Python and the packages' versions; and the load average, taken
before and after (the cores are shared, and other work on them slows a run).

Usage (in a script of this folder, run as `.venv/bin/python benchmarks/X.py`):
    from environment import load_average, machine_record, write_report
    figures = {**machine_record(), "load_before": load_average(), ...}
    figures["load_after"] = load_average()
    write_report(out_folder, "X", table_text, figures)   # OUT/X.txt and OUT/X.json, and says so
"""
from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from fruits.versions import package_versions


def machine_record() -> dict:
    """{"date", "machine" (the architecture, e.g. x86_64), "cpu" (its model), "cores", "python", "versions"}"""
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(), "versions": package_versions()}


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        lines = []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())


def load_average() -> float:
    """The last minute's, rounded."""
    return round(os.getloadavg()[0], 2)


def write_report(folder: Path, name: str, text: str, figures: dict) -> None:
    """folder/NAME.txt (the printed tables) and folder/NAME.json (the figures); prints where."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text + "\n")
    (folder / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwritten: {folder / f'{name}.txt'}, {folder / f'{name}.json'}")
