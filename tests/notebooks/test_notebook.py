"""The notebook runs top to bottom (nbclient, a real kernel) on a small sample and writes the
matrix, so it cannot rot as the library changes."""
from __future__ import annotations

import csv
import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT
from tests.pipeline.images import copy_subset

pytestmark = pytest.mark.slow
NOTEBOOK = PROJECT_ROOT / "notebooks" / "fruits_pipeline.ipynb"


def test_notebook_runs_on_a_small_sample(sample_images, weights_file, tmp_path, monkeypatch):
    images = copy_subset(sample_images, tmp_path / "images", per_class=5)
    monkeypatch.setenv("FRUITS_IMAGES", str(images))
    monkeypatch.setenv("FRUITS_WEIGHTS", str(weights_file))
    monkeypatch.setenv("FRUITS_OUTPUT", str(tmp_path / "out"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    text = "\n".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert "50 images featurized; 0 rejected" in text
    assert "accuracy" in text and "held-out images" in text
    images_shown = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images_shown) == 2
    with open(tmp_path / "out" / "matrix.csv", newline="", encoding="utf-8") as handle:  # one standard CSV file
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["path", "label", "pc_1"] and len(rows) == 51
    assert (tmp_path / "out" / "matrix.parquet" / "_SUCCESS").exists()
