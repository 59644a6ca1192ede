"""The French slides (docs/presentation/slides.md) render with the pinned marp-cli and Debian's
Chromium, as `make slides` does: one non-blank page per slide, and every picture they show exists."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PROJECT_ROOT

SLIDES = PROJECT_ROOT / "docs" / "presentation" / "slides.md"
MARP = PROJECT_ROOT / "docs" / "presentation" / "node_modules" / ".bin" / "marp"
RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
FOOTER_BAND = 0.1  # the bottom 10 % of a page holds the page number and footer, not content
MIN_INKED = 0.0005  # content covers at least 0.05 % of the rest (a one-word title covers 0.15 %)


def slide_count(markdown: str) -> int:
    """Slides in a Marp file: rules (`---`, `***`, `___`) outside the front matter and code blocks,
    plus one. A `---` right under a text line is a heading underline, not a rule."""
    lines = markdown.splitlines()
    if lines and lines[0] == "---":
        lines = lines[lines.index("---", 1) + 1:]
    separators, in_code, previous = 0, False, ""
    for line in lines:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and RULE.match(line) and (not line.strip().startswith("-") or not previous.strip()):
            separators += 1
        previous = line
    return separators + 1


def referenced_images(markdown: str) -> list[str]:
    """Local targets of `![...](...)` and `<img src="...">`."""
    targets = re.findall(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", markdown) + re.findall(r"<img[^>]+src=[\"']([^\"']+)", markdown)
    return [target for target in targets if not re.match(r"^(https?:|data:)", target)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(marp's result, the page PNGs in order) for one render of the slides."""
    chromium = shutil.which("chromium")
    assert chromium and MARP.exists(), "marp-cli or chromium is missing: run `make test` (or `make slides`) to install them"
    folder = tmp_path_factory.mktemp("slides")
    environment = {**os.environ, "CHROME_PATH": chromium, "CHROME_NO_SANDBOX": "1"}
    result = subprocess.run([str(MARP), "--allow-local-files", "--images", "png", str(SLIDES), "-o", str(folder / "page.png")],
                            capture_output=True, text=True, env=environment, timeout=120)
    return result, sorted(folder.glob("page*.png"))


def test_render_succeeds_with_one_page_per_slide(rendered):
    result, pages = rendered
    assert result.returncode == 0, result.stderr
    assert len(pages) == slide_count(SLIDES.read_text(encoding="utf-8")), [page.name for page in pages]


def test_every_page_has_content(rendered):
    _, pages = rendered
    assert pages
    for page in pages:
        image = np.asarray(Image.open(page).convert("RGB"), dtype=np.uint32)
        image = image[: int(len(image) * (1 - FOOTER_BAND))]
        pixels = (image[..., 0] << 16 | image[..., 1] << 8 | image[..., 2]).ravel()  # one int per colour
        colours, counts = np.unique(pixels, return_counts=True)
        inked = np.mean(pixels != colours[counts.argmax()])
        assert inked >= MIN_INKED, f"{page.name} is blank ({inked:.2%} of its pixels off the background)"


def test_every_referenced_image_exists():
    targets = referenced_images(SLIDES.read_text(encoding="utf-8"))
    assert targets, "the slides show no picture (the architecture picture is expected)"
    missing = [target for target in targets if not (SLIDES.parent / target).is_file()]
    assert not missing, f"slides.md shows pictures that do not exist: {missing}"


def test_slide_count_ignores_front_matter_code_and_heading_underlines():
    assert slide_count("---\nmarp: true\n---\n\n# A\n\n```\n---\n```\nB\n---\n\n---\n\n# C\n\n***\n\n# D\n") == 3
