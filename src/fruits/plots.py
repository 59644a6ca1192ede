"""PNG pictures of a run, drawn from its own results (matplotlib, no display needed):
the explained-variance curve with the chosen k, the images in the first two principal
components coloured by fruit, and the accuracy of the nearest-centroid check per class.

Usage: `png = variance_curve_png(curve, k, target)`; each function returns PNG bytes.
"""
from __future__ import annotations

import collections
import functools
import io

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Labels are folder names: text between two '$' would otherwise be read as TeX maths, garbled
# ("Price $5 and $6") or refused with a ValueError that fails the whole step ("Cherry $^$").
PLAIN_TEXT = {"text.parse_math": False}

ATTRIBUTION = "Images: Fruits-360, H. Muresan & M. Oltean, CC BY-SA 4.0"
LEGEND_ROWS = 30
LABEL_CHARACTERS = 30
SHORT_BAR = 0.15  # below it, the count is written beside the bar, not inside
MARKERS = "os^Dv<>PX*"


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


def _legend_columns(classes: int) -> int:
    return max(1, -(-classes // LEGEND_ROWS))


def _scatter_height(classes: int) -> float:
    return max(6.0, 1.6 + 0.17 * min(classes, LEGEND_ROWS))


def _class_colours(count: int) -> list[tuple]:
    """One colour per class, all different: tab10/tab20 up to 20 classes, then hues spread by the golden ratio."""
    if count <= 20:
        palette = plt.get_cmap("tab10" if count <= 10 else "tab20")
        return [palette(index) for index in range(count)]
    shades = [(0.85, 0.9), (0.6, 0.6), (0.45, 0.95)]  # (saturation, value): neighbouring hues also differ in shade
    return [(*matplotlib.colors.hsv_to_rgb(((index * 0.6180339887) % 1, *shades[index % 3])), 1.0)
            for index in range(count)]


def _class_markers(count: int) -> list[str]:
    return ["o" if count <= 20 else MARKERS[index % len(MARKERS)] for index in range(count)]


def _shortened(label: str, tag: str = "") -> str:
    if len(label) <= LABEL_CHARACTERS and not tag:
        return label
    tail = 9
    return f"{label[:LABEL_CHARACTERS - tail - 1 - len(tag)]}…{label[-tail:]}{tag}"


def _shown_labels(labels: list[str]) -> dict[str, str]:
    """Each label as drawn: at most ~30 characters, still one distinct text per label."""
    shown = {label: _shortened(label) for label in labels}
    uses = collections.Counter(shown.values())
    clashing = [label for label in labels if uses[shown[label]] > 1]
    for number, label in enumerate(clashing, start=1):
        shown[label] = _shortened(label, f" #{number}")
    return shown


@_plain_text
def principal_components_png(pc1: np.ndarray, pc2: np.ndarray, labels: list[str], shown_of: int) -> bytes:
    classes = sorted(set(labels))
    columns = _legend_columns(len(classes))
    shown = _shown_labels(classes)
    widest = max((len(text) for text in shown.values()), default=0)
    figure, axes = plt.subplots(figsize=(6 + columns * (0.7 + 0.06 * widest), _scatter_height(len(classes))))
    for label, colour, marker in zip(classes, _class_colours(len(classes)), _class_markers(len(classes))):
        mask = np.array([value == label for value in labels])
        axes.scatter(pc1[mask], pc2[mask], s=8, alpha=0.7, color=colour, marker=marker, label=shown[label])
    axes.set(title=f"Images in the first two principal components ({len(labels)} of {shown_of} shown)",
             xlabel="principal component 1", ylabel="principal component 2")
    axes.legend(markerscale=2, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), ncols=columns,
                title=f"{len(classes)} classes", borderaxespad=0)
    figure.text(0.01, 0.01, ATTRIBUTION, fontsize=7, color="grey")
    return _png(figure)


@_plain_text
def accuracy_by_class_png(by_class: dict[str, dict]) -> bytes:
    labels = sorted(by_class)
    values = [by_class[label]["accuracy"] for label in labels]
    figure, axes = plt.subplots(figsize=(8, max(4.5, 1.5 + 0.22 * len(labels))))
    positions = np.arange(len(labels))
    bars = axes.barh(positions, values, color="tab:green")
    shown = _shown_labels(labels)
    axes.set_yticks(positions, [shown[label] for label in labels])
    for bar, label in zip(bars, labels):
        _draw_count(axes, bar, by_class[label])
    axes.set(title="Nearest-centroid accuracy on held-out images, per class", xlabel="accuracy", xlim=(0, 1),
             ylim=(len(labels) - 0.5, -0.5))
    return _png(figure)


def _draw_count(axes, bar, counts: dict) -> None:
    """Inside a long bar in white; right of a short (or empty) one in a dark colour, clear of the class name."""
    width, middle = bar.get_width(), bar.get_y() + bar.get_height() / 2
    inside = width >= SHORT_BAR
    axes.text(width - 0.01 if inside else width + 0.01, middle, f"{counts['correct']}/{counts['test_images']}",
              ha="right" if inside else "left", va="center", color="white" if inside else "0.15", fontsize=8)
