"""The plots take labels (folder names) as plain text: a '$' would otherwise start TeX maths, and
an unbalanced one such as 'Cherry $^$' made matplotlib refuse the text and fail step 2."""
from __future__ import annotations

import numpy as np

from fruits.plots import accuracy_by_class_png, principal_components_png

PNG = b"\x89PNG\r\n\x1a\n"
LABELS = ["Apple", "Cherry $^$", "Price $5 and $6", "$\\frac{"]


def test_labels_with_dollar_signs_are_drawn_not_parsed():
    labels = [label for label in LABELS for _ in range(3)]
    points = np.arange(len(labels), dtype=float)
    assert principal_components_png(points, points[::-1], labels, len(labels)).startswith(PNG)
    by_class = {label: {"accuracy": 0.5, "correct": 1, "test_images": 2} for label in LABELS}
    assert accuracy_by_class_png(by_class).startswith(PNG)
