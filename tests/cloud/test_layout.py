"""fruits.layout, in process: the bucket's prefixes come from the platform's `prefixes` output and
are checked as Terraform checks them; the default layout (used only when a platform file has no
`prefixes`) is the storage module's; every key a command builds is under the prefix it belongs to."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from fruits.cloud.platform import load_platform
from fruits.layout import DEFAULT_LAYOUT, DEFAULT_PREFIXES, EMR_LOGS_FOLDER, BucketLayout, dataset_name, STORE_FOLDER
from tests.conftest import PROJECT_ROOT

MOVED = {"images": "photos/", "artifacts": "code/", "results": "outputs/", "logs": "journal/", "tmp": "scratch/",
         "notebooks": "notes/", "feature_store": "kept/features/"}


def test_the_default_layout_is_the_storage_modules():
    text = (PROJECT_ROOT / "terraform" / "modules" / "storage" / "main.tf").read_text()
    block = re.search(r"^\s*prefixes\s*=\s*\{([^}]*)\}", text, re.M).group(1)
    assert dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', block)) == DEFAULT_PREFIXES


def test_emr_logs_go_where_the_pipeline_module_puts_them():
    text = (PROJECT_ROOT / "terraform" / "modules" / "pipeline" / "main.tf").read_text()
    assert re.findall(r"\$\{var\.prefixes\.logs\}([^\"]*)\"", text) == [EMR_LOGS_FOLDER]
    assert BucketLayout(**MOVED).emr_logs_prefix == "journal/" + EMR_LOGS_FOLDER


def test_every_key_is_under_its_prefix():
    layout = BucketLayout.from_prefixes(MOVED)
    assert layout.images_prefix("fruits-360") == "photos/fruits-360/"
    assert layout.artifacts_prefix("3f9a1c2b7d40") == "code/3f9a1c2b7d40/"
    assert layout.wheelhouse_prefix("cp311-manylinux_2_34_x86_64", "b471d13aaae391ab") == "code/wheelhouse/cp311-manylinux_2_34_x86_64/b471d13aaae391ab/"
    assert layout.run_prefix("run-1") == "outputs/run-1/"
    assert layout.notebook_key("jovyan", "fruits_pipeline.ipynb") == "notes/jovyan/fruits_pipeline.ipynb"
    assert layout.feature_store_prefix(layout.images_prefix("fruits-360")) == "kept/features/fruits-360/"
    assert layout.feature_store_prefix(layout.images) == "kept/features/"  # the whole images prefix: the whole store prefix


def test_a_feature_store_is_only_for_images_under_the_images_prefix():
    with pytest.raises(ValueError, match="images prefix 'results/x/' is not under the images prefix 'images/'"):
        DEFAULT_LAYOUT.feature_store_prefix("results/x/")


@pytest.mark.parametrize("prefix", ["results", "/results/", "a//b/", "../results/", "results/./", ""])
def test_a_prefix_terraform_would_refuse_is_refused(prefix):
    with pytest.raises(ValueError, match=re.escape(f"the results prefix {prefix!r} must end in '/', with no leading '/'")):
        BucketLayout.from_prefixes({**DEFAULT_PREFIXES, "results": prefix})


@pytest.mark.parametrize(("changes", "message"), [
    ({"results": "images/"}, "the images prefix 'images/' holds the results prefix 'images/'"),
    ({"results": "images/results/"}, "the images prefix 'images/' holds the results prefix 'images/results/'"),
    ({"images": "data/", "feature_store": "data/features/"}, "the images prefix 'data/' holds the feature_store prefix"),
], ids=["results-is-images", "results-under-images", "store-under-images"])
def test_prefixes_of_which_one_holds_another_are_refused(changes, message):
    """`fruits start --dataset X --run-id X` with results = images/ wrote the run's outputs among the photos,
    where step 1 replaces the folders features/, rejected/ and pca/ whole."""
    with pytest.raises(ValueError, match=re.escape(message)):
        BucketLayout.from_prefixes({**DEFAULT_PREFIXES, **changes})


@pytest.mark.parametrize("prefix", [5, None, ["results/"]])
def test_a_prefix_that_is_not_text_is_refused(prefix):
    with pytest.raises(ValueError, match=re.escape(f"the results prefix is not text: {prefix!r}")):
        BucketLayout.from_prefixes({**DEFAULT_PREFIXES, "results": prefix})


def test_a_missing_prefix_is_named():
    with pytest.raises(ValueError, match="lacks the notebooks prefix"):
        BucketLayout.from_prefixes({name: prefix for name, prefix in DEFAULT_PREFIXES.items() if name != "notebooks"})


def write_platform(tmp_path, **outputs):
    values = {"region": "eu-west-3", "bucket_name": "b", "kms_key_arn": "k", "state_machine_arn": "s", **outputs}
    path = tmp_path / "platform.json"
    path.write_text(json.dumps({name: {"value": value} for name, value in values.items()}))
    return str(path)


def test_the_platform_layout_is_its_prefixes_output_and_the_default_only_without_one(tmp_path):
    assert load_platform(write_platform(tmp_path, prefixes=MOVED)).layout == BucketLayout(**MOVED)
    assert load_platform(write_platform(tmp_path)).layout == DEFAULT_LAYOUT


def test_a_platform_file_of_bare_values_keeps_its_map_outputs(tmp_path):
    """`{"prefixes": {...}}` as well as terraform's `{"prefixes": {"value": {...}}}`: a map output
    written bare is the value itself, never taken for a missing one (and the default layout)."""
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"region": "eu-west-3", "bucket_name": "b", "kms_key_arn": "k", "state_machine_arn": "s",
                                "prefixes": MOVED, "emr_instances": {"core_instance_count": 3}}))
    platform = load_platform(str(bare))
    assert platform.layout == BucketLayout(**MOVED) and platform.outputs["emr_instances"] == {"core_instance_count": 3}


def test_a_platform_with_a_bad_prefix_is_one_clear_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fruits", "runs", "--platform",
                             write_platform(tmp_path, prefixes={**DEFAULT_PREFIXES, "results": "/results"})],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"fruits: error: {tmp_path / 'platform.json'}: the output prefixes is not the platform's layout: the results prefix "
        "'/results' must end in '/', with no leading '/' and no empty, '.' or '..' folder: is it the Fruits! platform's terraform output?"]


@pytest.mark.parametrize("name", ["fruits-360", "a/b", "Fruits_360.v2"])
def test_a_dataset_is_one_or_more_plain_folder_names(name):
    assert dataset_name(name) == name


@pytest.mark.parametrize("name", ["", "..", "../images", "a/../b", "a//b", "/abs", "a/", "."])
def test_a_dataset_that_would_leave_its_prefix_is_refused(name):
    with pytest.raises(ValueError, match="dataset must be"):
        dataset_name(name)


def test_a_dataset_over_255_bytes_of_utf8_is_refused_by_bytes_not_characters():
    """With its prefix, a label and a file name, an image's S3 key must fit in 1,024 bytes: a name
    that cannot was taken, and `start` then said the dataset was empty."""
    at_limit = "\u00e9" * 127 + "a"  # 128 characters, 255 bytes
    assert dataset_name(at_limit) == at_limit and dataset_name("a/" + "b" * 253) == "a/" + "b" * 253
    for name in ("\u00e9" * 128, "a/" + "b" * 254):
        with pytest.raises(ValueError, match="dataset must be at most 255 bytes of UTF-8 .*, got 256 bytes"):
            dataset_name(name)


def test_the_layout_imports_only_the_standard_library():
    """The jobs import it on EMR from the package zip: no boto3, no checkout, nothing of fruits.cloud."""
    check = ("import sys; before = set(sys.modules); import fruits.layout; "
             "print(sorted(m.split('.')[0] for m in set(sys.modules) - before if not m.startswith('fruits')))")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stdout))
    assert loaded <= set(sys.stdlib_module_names), loaded - set(sys.stdlib_module_names)
    importer = "import sys, fruits.layout; print(sorted(m for m in sys.modules if m.startswith('fruits')))"
    assert eval(subprocess.run([sys.executable, "-c", importer], capture_output=True, text=True).stdout) == ["fruits", "fruits.layout"]


@pytest.mark.parametrize("name, parent", [("a/weights", "a"), ("a/0123456789abcdef/batches", "a"),
                                          ("2026/apples/ffffffffffffffff", "2026/apples")])
def test_a_dataset_inside_another_dataset_s_feature_store_is_refused(name, parent):
    """feature-store/a/ holds dataset a's KEYID/ and weights/ folders: a dataset named a/KEYID/batches
    kept its store among a's batches, and a's vacuum removed it whole as a killed append's files
    (reproduced with two real stores on Spark)."""
    with pytest.raises(ValueError, match=f"could keep its features inside the feature store of dataset '{parent}'"):
        dataset_name(name)


@pytest.mark.parametrize("name", ["weights", "0123456789abcdef", "a/weights2", "a/0123456789ABCDEF", "a/0123456789abcde"])
def test_names_that_cannot_meet_a_store_s_folders_stay_datasets(name):
    assert dataset_name(name) == name


def test_the_refused_folder_names_are_the_store_s_own():
    from fruits.feature_store_records import ID_LENGTH, feature_key
    from fruits.weights_fingerprints import FOLDER

    assert STORE_FOLDER.fullmatch(FOLDER) and STORE_FOLDER.fullmatch(feature_key("0" * 64).id) and ID_LENGTH == 16
