"""PNG pictures of a run, drawn from its own results (matplotlib, no display needed):
the explained-variance curve with the chosen k, the images in the first two principal
components coloured by fruit, and the accuracy of the nearest-centroid check per class.

Usage: `png = variance_curve_png(curve, k, target)`; each function returns PNG bytes.
"""
from __future__ import annotations

import functools
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Labels are folder names: text between two '$' would otherwise be read as TeX maths, garbled
# ("Price $5 and $6") or refused with a ValueError that fails the whole step ("Cherry $^$").
PLAIN_TEXT = {"text.parse_math": False}

ATTRIBUTION = "Images: Fruits-360, H. Muresan & M. Oltean, CC BY-SA 4.0"


def _plain_text(draw):
    """Draw with every text taken as it is (a text reads the setting when it is created)."""
    @functools.wraps(draw)
    def drawn(*arguments, **options):
        with matplotlib.rc_context(PLAIN_TEXT):
            return draw(*arguments, **options)
    return drawn


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return buffer.getvalue()


@_plain_text
def variance_curve_png(explained: list[float], k: int, target: float | None) -> bytes:
    cumulative = np.cumsum(explained)
    figure, axes = plt.subplots(figsize=(7, 4.5))
    components = np.arange(1, len(cumulative) + 1)
    axes.plot(components, cumulative, color="tab:blue", label="cumulative explained variance")
    axes.axvline(k, color="tab:red", linestyle="--", label=f"k = {k} ({cumulative[k - 1]:.1%})")
    if target is not None:
        axes.axhline(target, color="grey", linestyle=":", label=f"target {target:.0%}")
    axes.set_xscale("log")
    axes.set(title="PCA of the MobileNetV2 features: explained variance", xlabel="number of components (log scale)",
             ylabel="cumulative explained variance", ylim=(0, 1.02))
    axes.legend(loc="lower right")
    return _png(figure)


@_plain_text
def principal_components_png(pc1: np.ndarray, pc2: np.ndarray, labels: list[str], shown_of: int) -> bytes:
    figure, axes = plt.subplots(figsize=(8, 6))
    colours = plt.get_cmap("tab10" if len(set(labels)) <= 10 else "tab20")
    for index, label in enumerate(sorted(set(labels))):
        mask = np.array([value == label for value in labels])
        axes.scatter(pc1[mask], pc2[mask], s=8, alpha=0.7, color=colours(index % colours.N), label=label)
    axes.set(title=f"Images in the first two principal components ({len(labels)} of {shown_of} shown)",
             xlabel="principal component 1", ylabel="principal component 2")
    axes.legend(markerscale=2, fontsize="small", loc="best")
    figure.text(0.01, 0.01, ATTRIBUTION, fontsize=7, color="grey")
    return _png(figure)


@_plain_text
def accuracy_by_class_png(by_class: dict[str, dict]) -> bytes:
    labels = sorted(by_class)
    values = [by_class[label]["accuracy"] for label in labels]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    bars = axes.barh(labels, values, color="tab:green")
    for bar, label in zip(bars, labels):
        counts = by_class[label]
        axes.text(bar.get_width() - 0.01, bar.get_y() + bar.get_height() / 2,
                  f"{counts['correct']}/{counts['test_images']}", ha="right", va="center", color="white", fontsize=8)
    axes.set(title="Nearest-centroid accuracy on held-out images, per class", xlabel="accuracy", xlim=(0, 1))
    axes.invert_yaxis()
    return _png(figure)
