"""Benchmark, in one run on this machine (prints the figures and ratios, asserts nothing): what
installing requirements/cluster.lock into a fresh Python 3.11 venv costs, as an EMR node does
in its bootstrap,

1. from the wheelhouse, with no index: the bootstrap script itself (its phases: checking the
   wheelhouse, pip, the smoke test), then pip alone (`--no-index --find-links`);
2. from PyPI as the bootstrap did before: `pip install -r cluster.lock`, with an empty pip cache,
   the same cache again (warm), and `--no-cache-dir`;

and the wheelhouse's size. pip runs without this machine's pip configuration (it names local
mirrors of PyPI), so "from PyPI" means from pypi.org over the network. The cores are shared:
each variant runs --rounds times, interleaved, and the table gives the median and the fastest
wall time, and the median CPU time (user + system of the processes it started), which other
work on the cores disturbs much less.

Usage: .venv/bin/python benchmarks/wheelhouse_install.py [--rounds 3] [--skip-index]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fruits.cloud.wheelhouse import build_wheelhouse, lock_pins

PROJECT = Path(__file__).resolve().parents[1]
LOCK = PROJECT / "requirements" / "cluster.lock"
SCRIPT = PROJECT / "bootstrap" / "install-python-deps.sh"


def pip_environment(**extra: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    environment.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return environment


def fresh_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin" / "python"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], environment: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the processes it started)."""
    started, cpu = time.monotonic(), children_cpu_seconds()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    return time.monotonic() - started, children_cpu_seconds() - cpu


def bootstrap_phases(python: Path, wheelhouse: Path) -> dict[str, float]:
    """The bootstrap script's total time and its phases, told apart by when its lines appear."""
    environment = pip_environment(PIP_NO_INDEX="1", PIP_INDEX_URL="http://127.0.0.1:9/simple/",
                                  FRUITS_PYTHON=str(python), FRUITS_NO_SUDO="1")
    started, marks, cpu = time.monotonic(), {}, children_cpu_seconds()
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: stderr can never fill up and block the script
        # the region goes to `aws s3 cp` only, which local paths never reach
        with subprocess.Popen(["bash", str(SCRIPT), str(LOCK), str(wheelhouse), "eu-west-3"], stdout=subprocess.PIPE, stderr=errors,
                              text=True, env=environment) as run:
            for line in run.stdout:
                for mark in ("pinned packages", "smoke test:", "smoke test passed"):
                    if mark in line:
                        marks[mark] = time.monotonic() - started
        total = time.monotonic() - started
        if run.returncode != 0 or len(marks) != 3:
            errors.seek(0)
            sys.exit(f"the bootstrap failed (exit {run.returncode}): {errors.read()[-2000:]}")
    return {"total": total, "cpu": children_cpu_seconds() - cpu, "check": marks["pinned packages"], "pip": marks["smoke test:"] - marks["pinned packages"],
            "smoke": marks["smoke test passed"] - marks["smoke test:"]}


def one_round(house, scratch: Path, skip_index: bool) -> dict[str, tuple[float, float]]:
    """Each variant once, each into its own fresh venv: name -> (wall s, CPU s)."""
    phases = bootstrap_phases(fresh_venv(scratch / "bootstrap"), house.folder)
    times = {"bootstrap": (phases["total"], phases["cpu"])}
    times.update({f"bootstrap {phase}": (phases[phase], float("nan")) for phase in ("check", "pip", "smoke")})
    no_index = pip_environment(PIP_NO_INDEX="1", PIP_INDEX_URL="http://127.0.0.1:9/simple/")
    times["wheelhouse"] = timed([str(fresh_venv(scratch / "wheelhouse")), "-m", "pip", "install", "--quiet", "--no-index",
                                 "--find-links", str(house.folder), "--only-binary=:all:", "--no-deps", "-r", str(LOCK)], no_index)
    if not skip_index:
        pypi = pip_environment(PIP_INDEX_URL="https://pypi.org/simple/")
        for name, options in (("cold", ["--cache-dir", str(scratch / "pip-cache")]), ("warm", ["--cache-dir", str(scratch / "pip-cache")]),
                              ("no-cache", ["--no-cache-dir"])):
            times[name] = timed([str(fresh_venv(scratch / name)), "-m", "pip", "install", "--quiet", *options, "-r", str(LOCK)], pypi)
    return times


LABELS = {"bootstrap": "bootstrap script, wheelhouse, no index", "bootstrap check": "  of which: checking the wheelhouse",
          "bootstrap pip": "  of which: pip --no-index", "bootstrap smoke": "  of which: the smoke test",
          "wheelhouse": "pip alone from the wheelhouse, --no-index", "cold": "pip from PyPI, empty cache (downloads)",
          "warm": "pip from PyPI, the same cache again (warm)", "no-cache": "pip from PyPI, --no-cache-dir"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each variant runs (default 3)")
    parser.add_argument("--skip-index", action="store_true", help="only the wheelhouse paths (no PyPI download)")
    args = parser.parse_args()

    started = time.monotonic()
    house = build_wheelhouse(LOCK)
    largest = max(house.wheels, key=lambda name: (house.folder / name).stat().st_size)
    print(f"wheelhouse: {len(house.wheels)} wheels for {len(lock_pins(LOCK))} pins, {house.size / 1e6:.0f} MB "
          f"(largest {largest}, {(house.folder / largest).stat().st_size / 1e6:.0f} MB); ready in {time.monotonic() - started:.1f} s")
    print(f"fresh venv, Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    rounds = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="fruits-bench-") as scratch:
            rounds.append(one_round(house, Path(scratch), args.skip_index))
        print(f"  round {number + 1}: " + ", ".join(f"{name} {wall:.1f} s" for name, (wall, _) in rounds[-1].items()
                                                   if not name.startswith("bootstrap ")), flush=True)
    base = statistics.median(r["wheelhouse"][0] for r in rounds)
    print(f"\n  {'':<44} {'median':>7} {'fastest':>8} {'CPU':>7}  median / pip from the wheelhouse")
    for name, label in LABELS.items():
        if name in rounds[0]:
            walls, cpus = [r[name][0] for r in rounds], [r[name][1] for r in rounds]
            cpu = f"{statistics.median(cpus):6.1f}s" if cpus[0] == cpus[0] else ""
            print(f"  {label:<44} {statistics.median(walls):6.1f}s {min(walls):7.1f}s {cpu:>7}  {statistics.median(walls) / base:.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
