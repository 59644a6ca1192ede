"""The plots take labels (folder names) as plain text: a '$' would otherwise start TeX maths, and
an unbalanced one such as 'Cherry $^$' made matplotlib refuse the text and fail step 2.
They must also stay readable for the full Fruits-360 (131+ classes) and for 255-byte folder names."""
from __future__ import annotations

import itertools

import matplotlib.colors
import numpy as np
import pytest
from matplotlib.figure import Figure

from fruits.plots import accuracy_by_class_png, principal_components_png

PNG = b"\x89PNG\r\n\x1a\n"
LABELS = ["Apple", "Cherry $^$", "Price $5 and $6", "$\\frac{"]
WHITE = matplotlib.colors.to_rgba("white")


def test_labels_with_dollar_signs_are_drawn_not_parsed():
    labels = [label for label in LABELS for _ in range(3)]
    points = np.arange(len(labels), dtype=float)
    assert principal_components_png(points, points[::-1], labels, len(labels)).startswith(PNG)
    by_class = {label: {"accuracy": 0.5, "correct": 1, "test_images": 2} for label in LABELS}
    assert accuracy_by_class_png(by_class).startswith(PNG)


@pytest.fixture
def drawn(monkeypatch):
    """Call a PNG writer and return the figure it saved, laid out as in the PNG."""
    def draw(writer, *arguments):
        saved = []
        save = Figure.savefig

        def recording(figure, *args, **options):
            saved.append((figure, figure.canvas.get_renderer()))
            return save(figure, *args, **options)

        monkeypatch.setattr(Figure, "savefig", recording)
        assert writer(*arguments).startswith(PNG)
        monkeypatch.setattr(Figure, "savefig", save)
        (figure_and_renderer,) = saved
        return figure_and_renderer
    return draw


def scatter(drawn, labels: list[str]):
    points = np.arange(len(labels), dtype=float)
    figure, renderer = drawn(principal_components_png, points, points[::-1], labels, len(labels))
    (axes,) = [axes for axes in figure.axes if axes.collections]
    return figure, renderer, axes, axes.get_legend()


def bars(drawn, by_class: dict):
    figure, renderer = drawn(accuracy_by_class_png, by_class)
    (axes,) = figure.axes
    return figure, renderer, axes


def classes(count: int) -> list[str]:
    return [f"Fruit {index:03d}" for index in range(count)]


def inside(inner, outer) -> bool:
    return (inner.x0 >= outer.x0 - 1 and inner.y0 >= outer.y0 - 1
            and inner.x1 <= outer.x1 + 1 and inner.y1 <= outer.y1 + 1)


def test_the_count_of_a_class_at_zero_accuracy_is_drawn_right_of_its_empty_bar_in_a_dark_colour(drawn):
    by_class = {"Apple": {"accuracy": 0.0, "correct": 0, "test_images": 5},
                "Banana": {"accuracy": 1.0, "correct": 4, "test_images": 4}}
    _, _, axes = bars(drawn, by_class)
    counts = {text.get_text(): text for text in axes.texts}
    zero, full = counts["0/5"], counts["4/4"]
    assert zero.get_position()[0] > 0 and zero.get_ha() == "left"
    assert matplotlib.colors.to_rgba(zero.get_color()) != WHITE
    assert full.get_position()[0] < 1 and full.get_ha() == "right"  # inside a long bar, as before


def test_sixty_classes_have_pairwise_distinct_colours(drawn):
    labels = [label for label in classes(60) for _ in range(2)]
    _, _, axes, _ = scatter(drawn, labels)
    colours = {tuple(np.round(collection.get_facecolor()[0], 6)) for collection in axes.collections}
    assert len(axes.collections) == 60 and len(colours) == 60


@pytest.mark.parametrize("count", [25, 131])
def test_every_class_is_in_a_legend_that_fits_in_the_figure_beside_the_points(drawn, count):
    figure, renderer, axes, legend = scatter(drawn, classes(count))
    assert sorted(text.get_text() for text in legend.get_texts()) == classes(count)
    box = legend.get_window_extent(renderer)
    assert inside(box, figure.bbox)
    assert not box.overlaps(axes.get_window_extent(renderer))


def test_a_long_label_is_shortened_in_the_legend_and_does_not_cover_the_points(drawn):
    long = "Pear " + "x" * 250
    labels = ["Apple", long, long, "Apple"]
    figure, renderer, axes, legend = scatter(drawn, labels)
    shown = sorted(text.get_text() for text in legend.get_texts())
    assert shown[0] == "Apple" and shown[1].startswith("Pear x") and shown[1].endswith("x")
    assert len(shown[1]) <= 30 and "…" in shown[1]
    assert labels == ["Apple", long, long, "Apple"]  # the caller's labels (the CSV's) keep the full name
    box = legend.get_window_extent(renderer)
    assert inside(box, figure.bbox) and not box.overlaps(axes.get_window_extent(renderer))


def test_long_labels_that_differ_only_at_the_end_stay_distinct_when_shortened(drawn):
    labels = ["Apple " + "x" * 200 + " red", "Apple " + "x" * 200 + " green", "Apple " + "x" * 200 + " gree",
              "Apple " + "x" * 100 + " A " + "x" * 100, "Apple " + "x" * 100 + " B " + "x" * 100]
    _, _, _, legend = scatter(drawn, labels)
    assert len({text.get_text() for text in legend.get_texts()}) == 5
    assert all(len(text.get_text()) <= 30 for text in legend.get_texts())
    by_class = {label: {"accuracy": 0.5, "correct": 1, "test_images": 2} for label in labels}
    _, _, axes = bars(drawn, by_class)
    assert len(axes.patches) == 5  # one bar each, not merged under one shortened name
    assert len({label.get_text() for label in axes.get_yticklabels()}) == 5


def test_the_bar_labels_of_sixty_classes_fit_and_do_not_overlap(drawn):
    by_class = {label: {"accuracy": 0.5, "correct": 1, "test_images": 2} for label in classes(60)}
    figure, renderer, axes = bars(drawn, by_class)
    ticks = axes.get_yticklabels()
    assert [tick.get_text() for tick in ticks] == classes(60)
    boxes = [tick.get_window_extent(renderer) for tick in ticks]
    assert all(inside(box, figure.bbox) for box in boxes)
    assert not any(first.overlaps(second) for first, second in itertools.pairwise(boxes))


def test_a_long_bar_label_is_shortened(drawn):
    long = "Zucchini " + "z" * 246
    by_class = {label: {"accuracy": 0.5, "correct": 1, "test_images": 2} for label in ["Apple", long]}
    figure, renderer, axes = bars(drawn, by_class)
    shown = axes.get_yticklabels()[-1]
    assert len(shown.get_text()) <= 30 and shown.get_text().startswith("Zucchini") and long in by_class
    assert inside(axes.get_window_extent(renderer), figure.bbox) and axes.get_window_extent(renderer).width > 300


def test_dollar_labels_stay_literal_in_the_legend_and_ticks(drawn):
    _, _, _, legend = scatter(drawn, LABELS)
    assert {text.get_text() for text in legend.get_texts()} == set(LABELS)
    assert not any(text.get_parse_math() for text in legend.get_texts())
    by_class = {label: {"accuracy": 0.0, "correct": 0, "test_images": 2} for label in LABELS}
    _, _, axes = bars(drawn, by_class)
    assert {tick.get_text() for tick in axes.get_yticklabels()} == set(LABELS)
    assert not any(tick.get_parse_math() for tick in axes.get_yticklabels())
