"""A Python that has this venv's third-party packages but not the `fruits` package, as an EMR
node has: for tests of what the package zip alone provides.

Usage: `python = python_without_fruits(tmp_path / "node")`, then run it with `environment_without_pythonpath()`.
The venv's site-packages is joined through one .pth line; the .pth files in it (the editable
install's, which puts src/ on the path) are then not read, as Python reads those of site
folders only.
"""
from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path


def python_without_fruits(folder: Path) -> Path:
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    packages = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    Path(packages, "project-venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def environment_without_pythonpath(**settings: str) -> dict[str, str]:
    return {**{name: value for name, value in os.environ.items() if name != "PYTHONPATH"}, **settings}
