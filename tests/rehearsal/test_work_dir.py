"""`fruits rehearse`'s work folder (fruits.rehearsal.run.prepare_work_dir): a previous
rehearsal's folder is emptied, reached through a link too, and nothing outside it is touched."""
from __future__ import annotations

import pytest

from fruits.errors import FruitsError
from fruits.rehearsal.run import MARKER, prepare_work_dir


def previous_rehearsal(folder):
    (folder / "steps").mkdir(parents=True)
    (folder / "steps" / "log.txt").write_text("old")
    (folder / MARKER).write_text("made by `fruits rehearse`")
    return folder


def test_a_link_to_a_previous_rehearsal_is_kept_and_its_folder_emptied(tmp_path):
    """shutil.rmtree refused the link with an OSError and its traceback."""
    target = previous_rehearsal(tmp_path / "old")
    outside = tmp_path / "mine.txt"
    outside.write_text("mine")
    (target / "link-to-mine").symlink_to(outside)
    link = tmp_path / "work"
    link.symlink_to(target)
    assert prepare_work_dir(link) == link
    assert link.is_symlink() and sorted(path.name for path in target.iterdir()) == [MARKER]
    assert outside.read_text() == "mine"  # a link inside is removed, not followed


def test_a_folder_not_made_by_a_rehearsal_is_refused_and_kept(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FruitsError, match="was not made by `fruits rehearse`"):
        prepare_work_dir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
