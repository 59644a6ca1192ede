"""The input rules on their own (no Spark): every entry under a folder is accepted with its label
or rejected with its reason, symlink loops end the walk instead of repeating it, and a listing
made elsewhere (an object store) gets the same answers for the same names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import unicodedata

import pytest

from fruits.cloud.images_upload import labelled_images
from fruits.errors import FruitsError
from fruits.input_files import (classify_listed, first_per_label, hold_back_last, list_local_folder, look_alike_labels,
                                refuse_look_alike_labels)

from .images import awkward_input, without_root_privileges


def outcome(listing) -> dict[str, str | None]:
    """{entry: reason category, or None when accepted}"""
    accepted = {file.relative: None for file in listing.accepted}
    rejected = {entry.relative: entry.reason.split(":")[0] for entry in listing.rejected}
    assert not accepted.keys() & rejected.keys()
    return {**accepted, **rejected}


def test_every_entry_is_accepted_with_its_label_or_rejected_with_its_reason(sample_images, tmp_path):
    expected = awkward_input(tmp_path / "images", sample_images, tmp_path / "elsewhere")
    listing = list_local_folder(tmp_path / "images")
    assert outcome(listing) == expected
    assert {file.relative: file.label for file in listing.accepted} == {
        entry: entry.split("/")[0] for entry, reason in expected.items() if reason is None}
    assert {entry.relative: entry.label for entry in listing.rejected}["loose.jpg"] is None
    assert listing.entries_found == len(expected)


def test_loops_end_the_walk_and_each_folder_is_listed_once(tmp_path):
    images, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    for folder in (images / "Apple", elsewhere / "A", elsewhere / "B"):
        folder.mkdir(parents=True)
        (folder / "1.jpg").write_bytes(b"\xff\xd8 a photo")
    (images / "Apple" / "up").symlink_to(images)
    (images / "Apple" / "self").symlink_to(images / "Apple")
    (images / "Linked").symlink_to(elsewhere / "A")
    (elsewhere / "A" / "to-b").symlink_to(elsewhere / "B")  # A -> B -> A, outside the input
    (elsewhere / "B" / "to-a").symlink_to(elsewhere / "A")
    (images / "Sibling").symlink_to(images / "Apple")  # inside the input: listed where it is
    (images / "Cycle").symlink_to(images / "Cycle")  # a link to itself

    assert outcome(list_local_folder(images)) == {
        "Apple/1.jpg": None, "Linked/1.jpg": None,
        "Apple/up": "symlink not followed", "Apple/self": "symlink not followed", "Sibling": "symlink not followed",
        "Linked/to-b": "nested folder",  # outside the input and below a label: rejected whole, not walked
        "Cycle": "broken symlink",
    }


def test_links_out_of_the_input_are_not_walked(tmp_path):
    """A link to a folder that holds the input, at the label level or below, and a folder link
    below a label to anywhere else: each is one rejected entry, and nothing beyond is listed.
    /dev/fd lists the listing's own folder handle, closed by the time it is looked at."""
    images, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    for folder in (images / "Apple", elsewhere / "deep"):
        folder.mkdir(parents=True)
    (images / "Apple" / "1.jpg").write_bytes(b"\xff\xd8 a photo")
    (elsewhere / "deep" / "2.jpg").write_bytes(b"\xff\xd8 a photo")
    (images / "Up").symlink_to(tmp_path)  # holds the images folder
    (images / "Root").symlink_to("/")
    (images / "Apple" / "ancestor").symlink_to(tmp_path)
    (images / "Apple" / "away").symlink_to(elsewhere)
    (images / "Fd").symlink_to("/dev/fd")

    found = outcome(list_local_folder(images))
    assert {entry: reason for entry, reason in found.items() if not entry.startswith("Fd/")} == {
        "Apple/1.jpg": None, "Up": "symlink not followed", "Root": "symlink not followed",
        "Apple/ancestor": "symlink not followed", "Apple/away": "nested folder"}
    assert "broken symlink" in {reason for entry, reason in found.items() if entry.startswith("Fd/")}


def test_fifos_sizes_and_names_that_no_reader_takes(tmp_path):
    apple = tmp_path / "images" / "Apple"
    apple.mkdir(parents=True)
    os.mkfifo(apple / "pipe.jpg")  # opening it would wait for a writer forever
    (apple / "big.jpg").write_bytes(b"x" * 2000)
    (apple / "small.jpg").write_bytes(b"x" * 1000)
    os.close(os.open(os.fsencode(apple) + b"/caf\xe9.jpg", os.O_CREAT | os.O_WRONLY))  # Latin-1, not UTF-8
    os.close(os.open(os.fsencode(apple) + b"/caf\xe8.jpg", os.O_CREAT | os.O_WRONLY))  # another: two names, two rows

    listing = list_local_folder(tmp_path / "images", max_file_bytes=1000)
    assert outcome(listing) == {"Apple/small.jpg": None, "Apple/pipe.jpg": "not a regular file", "Apple/big.jpg": "file too large",
                                "Apple/caf\\xe9.jpg": "unsupported name", "Apple/caf\\xe8.jpg": "unsupported name"}
    json.dumps([entry.relative for entry in listing.rejected]).encode("utf-8")  # printable and storable


LIST_AS_A_USER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from fruits.errors import FruitsError
    from fruits.input_files import list_local_folder
    try:
        listing = list_local_folder(Path(sys.argv[1]))
    except FruitsError as error:
        print(json.dumps({"error": str(error)}))
    else:
        print(json.dumps({"accepted": [f.relative for f in listing.accepted],
                          "rejected": {e.relative: e.reason for e in listing.rejected}}))
""")


def list_as_a_user(folder) -> dict:
    result = subprocess.run(without_root_privileges([sys.executable, "-c", LIST_AS_A_USER, str(folder)]),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_files_and_folders_the_user_cannot_read_are_rejected_and_the_listing_goes_on(tmp_path):
    images = tmp_path / "images"
    (images / "Apple").mkdir(parents=True)
    (images / "Closed").mkdir()
    for name in ("Apple/1.jpg", "Apple/locked.jpg", "Closed/1.jpg"):
        (images / name).write_bytes(b"\xff\xd8 a photo")
    (images / "Apple" / "locked.jpg").chmod(0)
    (images / "Closed").chmod(0)
    try:
        found = list_as_a_user(images)
        images.chmod(0)
        refused = list_as_a_user(images)
    finally:
        for path in (images, images / "Closed"):
            path.chmod(0o755)

    assert found == {"accepted": ["Apple/1.jpg"], "rejected": {"Apple/locked.jpg": "unreadable: permission denied",
                                                              "Closed": "unreadable folder: permission denied"}}
    assert refused == {"error": f"cannot read the images folder {images}: permission denied"}


def test_an_object_store_listing_gets_the_same_answers_as_a_folder(sample_images, tmp_path):
    """What S3 can hold (no symlinks): the same names and sizes classified from URIs."""
    awkward_input(tmp_path / "images", sample_images, tmp_path / "elsewhere")
    local = list_local_folder(tmp_path / "images")
    plain = [file for file in local.accepted if not file.relative.startswith("Fav/")]
    objects = [(f"s3://bucket/images/{file.relative}", file.size, file.stamp) for file in plain]
    regular = [entry for entry in local.rejected if not entry.reason.startswith(("symlink", "broken symlink"))]
    objects += [(f"s3://bucket/images/{entry.relative}", (tmp_path / "images" / entry.relative).stat().st_size)
                for entry in regular]

    remote = classify_listed("s3://bucket/images/", objects)
    assert remote.accepted == plain
    assert sorted(remote.rejected) == sorted(regular)


def test_first_per_label_keeps_the_first_accepted_files_by_name_of_each_label():
    listing = classify_listed("s3://bucket/images", [(f"s3://bucket/images/{name}", 10) for name in (
        "Kiwi/b.jpg", "Apple/2.jpg", "Apple/10.jpg", "Apple/notes.txt", "Apple/.1.jpg", "Apple/1.jpg", "Kiwi/a.png",
        "Cherry/only.jpeg", "loose.jpg")])

    two = first_per_label(listing, 2)
    assert [file.relative for file in two.accepted] == ["Apple/1.jpg", "Apple/10.jpg", "Cherry/only.jpeg", "Kiwi/a.png",
                                                        "Kiwi/b.jpg"]
    assert (two.root, two.rejected) == ("s3://bucket/images", [])
    assert [file.relative for file in first_per_label(listing, 1, labels=2).accepted] == ["Apple/1.jpg", "Cherry/only.jpeg"]
    assert first_per_label(listing, None).accepted == sorted(listing.accepted)


def test_hold_back_last_holds_back_the_last_share_by_name_of_each_label_but_never_a_fruit_s_only_image():
    names = ([f"Apple/{n:02}.jpg" for n in range(12, 0, -1)] + [f"Kiwi/{n:02}.png" for n in range(1, 31)]
             + ["Pear/b.jpg", "Pear/a.jpg", "Cherry/only.jpeg", "Apple/notes.txt", "Apple/.99.jpg", "loose.jpg"])
    listing = classify_listed("s3://bucket/images", [(f"s3://bucket/images/{name}", 10) for name in names])

    first, later = hold_back_last(listing, 0.1)
    # rounded up: 2 of Apple's 12, 1 of Pear's 2; 3 of Kiwi's 30 (not 4: 30 * 0.1 > 3 in floats); Cherry's one kept
    assert [file.relative for file in later.accepted] == ["Apple/11.jpg", "Apple/12.jpg", "Kiwi/28.png", "Kiwi/29.png",
                                                          "Kiwi/30.png", "Pear/b.jpg"]
    assert first.accepted == [file for file in sorted(listing.accepted) if file not in later.accepted]
    assert "Cherry/only.jpeg" in [file.relative for file in first.accepted]
    assert (first.root, first.rejected, later.root, later.rejected) == ("s3://bucket/images", [], "s3://bucket/images", [])
    # however large the share, each fruit keeps its first image
    first, later = hold_back_last(listing, 1.0)
    assert [file.relative for file in first.accepted] == ["Apple/01.jpg", "Cherry/only.jpeg", "Kiwi/01.png", "Pear/a.jpg"]
    assert len(later.accepted) == len(listing.accepted) - 4


def test_objects_that_list_as_one_path_are_all_rejected():
    """Hadoop's listing of 'apple//x.jpg' and 'apple/x.jpg' gives the same path twice: reading it
    would read one object for both. Neither is taken; each is an entry with the reason."""
    listing = classify_listed("s3a://b/images", [("s3a://b/images/apple/x.jpg", 5), ("s3a://b/images/apple/x.jpg", 6),
                                                 ("s3a://b/images/kiwi/y.jpg", 5)])
    assert [file.relative for file in listing.accepted] == ["kiwi/y.jpg"]
    assert [(entry.relative, entry.reason.split(" (")[0]) for entry in listing.rejected] == [
        ("apple/x.jpg", "unsupported name: several objects list as this path")] * 2
    assert listing.entries_found == 3


@pytest.mark.parametrize("second", [unicodedata.normalize("NFD", "Café"), "Café ", "\ufeffCafé", "Caf\u200bé", "Café\u200d",
                                    "Café\ufe0f", "Caf\u034fé", "Café\u3164"],
                         ids=["nfd", "trailing-space", "byte-order-mark", "zero-width-space", "zero-width-joiner",
                              "variation-selector", "combining-grapheme-joiner", "hangul-filler"])
def test_two_folders_that_read_as_one_fruit_are_refused_before_any_work(second, sample_images, tmp_path):
    """They were two classes shown under one name in every table and plot."""
    photo = next((sample_images / sorted(path.name for path in sample_images.iterdir() if path.is_dir())[0]).glob("*.jpg"))
    for label in (unicodedata.normalize("NFC", "Café"), second, "Kiwi"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "1.jpg").write_bytes(photo.read_bytes())
    listing = list_local_folder(tmp_path)
    assert len({file.label for file in listing.accepted}) == 3  # the listing keeps the names as they are
    with pytest.raises(FruitsError, match=r"the folders .* would be two fruits that read the same \('Café'.*nothing written"):
        refuse_look_alike_labels(listing, str(tmp_path))
    with pytest.raises(FruitsError, match="would be two fruits that read the same .*nothing sent"):
        labelled_images(tmp_path)


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u3000"], ids=["no-break", "narrow-no-break", "ideographic"])
def test_a_name_that_differs_only_in_its_kind_of_space_reads_as_the_same_fruit(space):
    """'Red Apple' typed with Option+Space (a no-break space) on a Mac: two classes, one name."""
    assert look_alike_labels({"Red Apple", f"Red{space}Apple", "Kiwi"}) == ("Red Apple", f"Red{space}Apple", "Red Apple")
    assert look_alike_labels({"Red Apple", "RedApple", "Red  Apple"}) is None  # a missing or doubled space shows


@pytest.mark.parametrize("invisible", ["\u2065", "\ufff0", "\U000e0080", "\U000e01f0", "\u17b4", "\uffa0"])
def test_a_default_ignorable_character_reads_as_nothing(invisible):
    assert look_alike_labels({"Kiwi", f"Ki{invisible}wi"}) == ("Kiwi", f"Ki{invisible}wi", "Kiwi")


def test_names_that_differ_visibly_are_two_fruits():
    listing = classify_listed("/images", [("/images/Apple/1.jpg", 10), ("/images/apple/2.jpg", 10), ("/images/Apple 2/3.jpg", 10)])
    refuse_look_alike_labels(listing, "/images")  # case and inner words tell them apart
