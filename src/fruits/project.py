"""Where the package finds the project's checkout and the shared sample beside it: the one place
that knows the repository's folders. The pipeline itself (the jobs on EMR, `fruits run-local`)
needs none of them; `fruits stage` (jobs, bootstrap, lock), `demo-start` (the notebook), the
rehearsal (the Terraform module, the S3A jars) and the wheelhouse cache do.

Usage:
    checkout_file("jobs/extract_features.py", "`fruits stage`")   # the Path, or a FruitsError saying what to do
    checkout_path(".tools/jars")                                  # the Path, unchecked (its user says how to make it)
    shared_path("models", "x.h5")                                  # ../shared/ beside the checkout, unchecked
The checkout is the folder this package was installed from (`pip install -e .` keeps src/fruits/
in it); `root=` names another one (the tests point it at an empty folder).
"""
from __future__ import annotations

from pathlib import Path

from fruits.errors import FruitsError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parents[1]  # src/fruits/ -> the checkout, when the package runs from one


def checkout_path(relative: str, root: Path | None = None) -> Path:
    return (root or CHECKOUT) / relative


def checkout_file(relative: str, needed_by: str, root: Path | None = None) -> Path:
    """`relative` in the checkout, which must be there: a file or a folder."""
    path = checkout_path(relative, root)
    if not path.exists():
        raise FruitsError(f"{needed_by} needs a checkout of the project: run it from one, /path/to/repo/.venv/bin/fruits "
                          f"(`make demo` makes it; or `pip install -e /path/to/repo`), not from a copy of the package "
                          f"alone (missing {path})")
    return path


def shared_path(*parts: str, root: Path | None = None) -> Path:
    """The shared sample and weights live beside the checkout, in ../shared/."""
    return (root or CHECKOUT).parent.joinpath("shared", *parts)
