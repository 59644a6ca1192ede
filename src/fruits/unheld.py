"""What a killed process left: a folder or lock file whose flock no live process holds.

A writer holds an flock on the thing it writes (`RUN/.lock` for a run, its staging folder for a
fetch) while it lives; the OS releases it however the process ends (SIGKILL, a dead laptop). So a
later process that takes that flock without waiting knows the writer is gone, and may remove or
recover what it left.

Usage: `with unheld(folder / ".lock") as abandoned: if abandoned: ...remove the staging...`.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def unheld(path: Path) -> Iterator[bool]:
    """True in the block when no live process held `path`'s flock (this process holds it until the
    block ends); False when one does, or `path` cannot be opened (missing, another user's). Never
    creates `path`."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: its writer lives
            taken = False
        else:
            taken = True
        yield taken
    finally:
        os.close(handle)
