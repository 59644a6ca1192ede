"""`fruits results` writes only inside --to/RUN, and a fetch replaces a previous fetch whole (or
not at all); `fruits start` refuses a bad run id, a dataset outside images/, and the id of a
complete run unless --replace, and starts a run id again as a new execution, never while one runs."""
from __future__ import annotations

import json

import pytest

from fruits.rehearsal.emr_step_driver import EmrStepDriver
from tests.cloud.conftest import BUCKET, edited_platform
from tests.support.render_definition import STEP_FUNCTIONS_ROLE

MANIFEST = {"featurized": 6, "rejected": 0, "k": 3, "accuracy": 1.0}


def put(s3, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def stored_keys(s3, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


@pytest.mark.parametrize("escaping", ["pca/plots/../../../escaped.png", "pca/plots/../../../../../escaped.png"])
def test_a_key_that_leads_outside_the_run_folder_is_refused_and_nothing_is_written(fruits, moto, tmp_path, escaping):
    s3, run = moto.client("s3"), f"run-escape-{escaping.count('..')}"
    prefix = f"results/{run}/"
    put(s3, prefix + "manifest.json", json.dumps(MANIFEST).encode())
    put(s3, prefix + "pca/matrix.csv", b"path,label,pc_1\na.jpg,apple,0.5\n")
    put(s3, prefix + escaping, b"outside")
    assert prefix + escaping in stored_keys(s3, prefix)  # the emulator kept the key as given
    target = tmp_path / "deep" / "to"
    target.mkdir(parents=True)

    result = fruits("results", run, "--to", str(target))
    assert result.returncode == 1
    assert result.stderr.startswith(f"fruits: error: refusing s3://{BUCKET}/{prefix}{escaping}: ")
    assert "outside" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == [tmp_path / "deep", target]  # nothing written anywhere


@pytest.mark.parametrize("command", [("results", "..", "--to", "{to}"), ("results", "run 1", "--to", "{to}"),
                                     ("start", "--dry-run", "--run-id", ".."), ("start", "--dry-run", "--run-id", "a/b")])
def test_a_bad_run_id_is_refused_with_exit_2(fruits, tmp_path, command):
    result = fruits(*(part.format(to=tmp_path) for part in command))
    assert result.returncode == 2
    assert "run id must be 1-72 letters, digits" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_second_fetch_replaces_the_first_whole(fruits, moto, tmp_path):
    s3, prefix = moto.client("s3"), "results/run-fetched-twice/"
    put(s3, prefix + "manifest.json", json.dumps({**MANIFEST, "k": 2}).encode())
    put(s3, prefix + "pca/matrix.csv", b"path,label,pc_1,pc_2\na.jpg,apple,0.5,0.1\n")
    put(s3, prefix + "pca/plots/principal_components.png", b"png")
    assert fruits("results", "run-fetched-twice", "--to", str(tmp_path)).returncode == 0
    folder = tmp_path / "run-fetched-twice"
    assert (folder / "pca" / "plots" / "principal_components.png").is_file()

    s3.delete_object(Bucket=BUCKET, Key=prefix + "pca/plots/principal_components.png")  # a re-run with k = 1
    put(s3, prefix + "manifest.json", json.dumps({**MANIFEST, "k": 1}).encode())
    put(s3, prefix + "pca/matrix.csv", b"path,label,pc_1\na.jpg,apple,0.5\n")
    again = fruits("results", "run-fetched-twice", "--to", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) == [
        ".fetched.json", "manifest.json", "pca/matrix.csv"]
    assert json.loads((folder / "manifest.json").read_text())["k"] == 1
    assert [path.name for path in tmp_path.iterdir()] == ["run-fetched-twice"]  # no staging left beside it

    put(s3, prefix + "pca/plots/../../../elsewhere.png", b"outside")
    refused = fruits("results", "run-fetched-twice", "--to", str(tmp_path))
    assert refused.returncode == 1
    assert json.loads((folder / "manifest.json").read_text())["k"] == 1  # the previous fetch is intact


def test_results_refuses_to_replace_a_folder_it_did_not_fetch(fruits, moto, tmp_path):
    s3, prefix = moto.client("s3"), "results/run-over-notes/"
    put(s3, prefix + "manifest.json", json.dumps(MANIFEST).encode())
    (tmp_path / "run-over-notes").mkdir()
    (tmp_path / "run-over-notes" / "notes.txt").write_text("mine")
    result = fruits("results", "run-over-notes", "--to", str(tmp_path))
    assert result.returncode == 1 and "is not a folder of fetched results (it holds notes.txt)" in result.stderr
    assert (tmp_path / "run-over-notes" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("hostile, says", [
    (["pca/plots/a.png", "pca/plots/a.png/b.png"], "pca/plots/a.png: it is a file and, for other keys, a folder"),
    (["pca/plots/" + "n" * 300 + ".png"], "File name too long; nothing was fetched (the previous fetch is kept)"),
    (["pca/plots/a\0b.png"], "a NUL character cannot be in a file name; nothing was fetched"),
], ids=["file-and-folder", "name-too-long", "nul"])
def test_a_key_no_local_file_can_take_is_one_line_and_the_previous_fetch_stays(fruits, moto, tmp_path, hostile, says):
    s3, run = moto.client("s3"), f"run-hostile-{len(hostile[0])}"
    prefix = f"results/{run}/"
    put(s3, prefix + "manifest.json", json.dumps(MANIFEST).encode())
    assert fruits("results", run, "--to", str(tmp_path)).returncode == 0  # a first, good fetch
    for key in hostile:
        put(s3, prefix + key, b"png")
    result = fruits("results", run, "--to", str(tmp_path))
    assert result.returncode == 1 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == [run]  # no staging left beside it
    assert sorted(p.relative_to(tmp_path / run).as_posix() for p in (tmp_path / run).rglob("*")) == [".fetched.json", "manifest.json"]


def test_results_refuses_a_run_folder_that_is_a_link_and_leaves_what_it_points_to(fruits, moto, tmp_path):
    s3, prefix = moto.client("s3"), "results/run-linked/"
    put(s3, prefix + "manifest.json", json.dumps(MANIFEST).encode())
    assert fruits("results", "run-linked", "--to", str(tmp_path / "real")).returncode == 0
    (tmp_path / "to").mkdir()
    (tmp_path / "to" / "run-linked").symlink_to(tmp_path / "real" / "run-linked")
    result = fruits("results", "run-linked", "--to", str(tmp_path / "to"))
    assert result.returncode == 1 and "run-linked is a symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "to" / "run-linked").is_symlink() and sorted(p.name for p in (tmp_path / "to").iterdir()) == ["run-linked"]


def test_a_manifest_of_unexpected_values_prints_each_on_one_line(fruits, moto, tmp_path):
    """A fetched manifest may hold anything: a warning that is not a list, values with newlines."""
    s3, prefix = moto.client("s3"), "results/run-odd-manifest/"
    put(s3, prefix + "manifest.json", json.dumps({**MANIFEST, "k": "3\nfruits: error: fake", "warnings": 5}).encode())
    result = fruits("results", "run-odd-manifest", "--to", str(tmp_path))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "k = 3\\nfruits: error: fake;" in result.stdout and "  warning: 5" in result.stdout
    assert not any(line.startswith("fruits: error") for line in result.stdout.splitlines())


def test_a_file_the_user_put_among_the_fetched_plots_is_not_deleted_by_the_next_fetch(fruits, moto, tmp_path):
    s3, prefix = moto.client("s3"), "results/run-with-my-plot/"
    put(s3, prefix + "manifest.json", json.dumps(MANIFEST).encode())
    put(s3, prefix + "pca/plots/principal_components.png", b"png")
    assert fruits("results", "run-with-my-plot", "--to", str(tmp_path)).returncode == 0
    mine = tmp_path / "run-with-my-plot" / "pca" / "plots" / "my-annotated-copy.png"
    mine.write_bytes(b"mine")
    again = fruits("results", "run-with-my-plot", "--to", str(tmp_path))
    assert again.returncode == 1 and "(it holds pca/plots/my-annotated-copy.png)" in again.stderr
    assert mine.read_bytes() == b"mine"
    mine.unlink()
    (mine.parent / ".DS_Store").write_bytes(b"Finder's")  # a desktop's own file does not block a fetch
    assert fruits("results", "run-with-my-plot", "--to", str(tmp_path)).returncode == 0  # only what it fetched: replaced


@pytest.fixture
def staged(fruits, moto, staged_weights):
    """The code staged, and two photos under the default dataset (`start` refuses a prefix with fewer)."""
    result = fruits("stage", "--weights", str(staged_weights), "--quiet")
    assert result.returncode == 0, result.stderr
    for name in ("apple/1.jpg", "kiwi/1.jpg"):
        put(moto.client("s3"), f"images/fruits-360/{name}", b"a photo, as far as start can tell")
    return staged_weights


def execution_names(sfn, state_machine_arn: str) -> list[str]:
    return sorted(run["name"] for run in sfn.list_executions(stateMachineArn=state_machine_arn)["executions"])


def test_start_refuses_the_id_of_a_complete_run_unless_told_to_replace_it(fruits, moto, platform_file, staged):
    """The replacing run is a new execution, run-done__2: Step Functions refuses an execution name
    used in the last 90 days, even a finished execution's (API_StartExecution; moto refuses it too).
    The step driver plays EMR and writes no results: the first run's manifest is put by hand."""
    s3, sfn = moto.client("s3"), moto.client("stepfunctions")
    machine = json.loads(platform_file.read_text())["state_machine_arn"]["value"]
    with EmrStepDriver():
        assert fruits("start", "--weights", str(staged), "--run-id", "run-done").returncode == 0
        assert fruits("watch", "run-done", "--interval", "1").returncode == 0
    put(s3, "results/run-done/manifest.json", json.dumps(MANIFEST).encode())
    refused = fruits("start", "--weights", str(staged), "--run-id", "run-done")
    assert refused.returncode == 1
    assert refused.stderr.startswith("fruits: error: run run-done is already complete (s3://") and "--replace" in refused.stderr
    assert [name for name in execution_names(sfn, machine) if name.startswith("run-done")] == ["run-done"]

    with EmrStepDriver():
        started = fruits("start", "--weights", str(staged), "--run-id", "run-done", "--replace")
        assert started.returncode == 0, started.stderr
        assert "Started run-done (start 2 of this run id: execution run-done__2)" in started.stdout
        watched = fruits("watch", "run-done", "--interval", "1")
    assert watched.returncode == 0, watched.stderr
    assert "Run run-done: SUCCEEDED (start 2 of this run id)" in watched.stdout
    assert [name for name in execution_names(sfn, machine) if name.startswith("run-done")] == ["run-done", "run-done__2"]
    listed = [line for line in fruits("runs").stdout.splitlines() if line.startswith("run-done ")]
    assert len(listed) == 2 and [line.endswith("  (start 2)") for line in listed].count(True) == 1


def test_a_run_id_starts_again_after_its_execution_ends_but_never_while_it_runs(fruits, moto, platform_file, staged, tmp_path):
    """Two executions of one run id at once would write the same results folder: refused. Against a
    state machine that only waits (it stays RUNNING until stopped), so the order is not timing's."""
    sfn = moto.client("stepfunctions")
    waiting = sfn.create_state_machine(
        name="waits-until-stopped", roleArn=STEP_FUNCTIONS_ROLE,
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}))["stateMachineArn"]
    platform = edited_platform(platform_file, tmp_path, state_machine_arn=waiting)
    executions = waiting.replace(":stateMachine:", ":execution:")
    first = fruits("start", "--weights", str(staged), "--run-id", "run-busy", platform=platform)
    assert first.returncode == 0, first.stderr
    refused = fruits("start", "--weights", str(staged), "--run-id", "run-busy", "--k", "1", platform=platform)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "run run-busy is running (execution run-busy): follow it with `fruits watch run-busy`" in refused.stderr
    assert execution_names(sfn, waiting) == ["run-busy"]

    sfn.stop_execution(executionArn=f"{executions}:run-busy")
    again = fruits("start", "--weights", str(staged), "--run-id", "run-busy", platform=platform)
    assert again.returncode == 0, again.stderr
    assert execution_names(sfn, waiting) == ["run-busy", "run-busy__2"]
    shown = fruits("status", "run-busy", platform=platform)
    assert shown.returncode == 0 and shown.stdout.startswith("Run run-busy: RUNNING (start 2 of this run id)")
    sfn.stop_execution(executionArn=f"{executions}:run-busy__2")


@pytest.mark.parametrize("dataset", ["..", "../results", "a/./b", "", "/abs"])
@pytest.mark.parametrize("command", [["start", "--dry-run"], ["demo-start", "--dry-run"], ["upload"]])
def test_a_dataset_that_is_not_a_plain_folder_under_images_is_a_wrong_argument(fruits, moto, staged_weights, tmp_path, command, dataset):
    """Hadoop resolves `images/../x/` to `x/`: the jobs would read outside images/, and S3 would
    store `images/../x/...` as it is. Refused by argparse, before anything is read or sent."""
    assert refusal_of_dataset(fruits, staged_weights, tmp_path, command, dataset).endswith(
        f"error: argument --dataset: dataset must be one or more folder names joined by '/' (none empty, '.' or '..': "
        f"it is a folder under the images prefix), got {dataset!r}")


def refusal_of_dataset(fruits, staged_weights, tmp_path, command: list[str], dataset: str) -> str:
    """The one line `command --dataset DATASET` ends with, after checking it is a wrong argument."""
    (tmp_path / "photos" / "apple").mkdir(parents=True)
    (tmp_path / "photos" / "apple" / "1.jpg").write_bytes(b"a photo, as far as upload can tell")
    folder = [str(tmp_path / "photos")] if command == ["upload"] else ["--weights", str(staged_weights)]
    result = fruits(*command, *folder, "--dataset", dataset, endpoint="http://127.0.0.1:9")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("dataset, shown", [("bad\udcff", "bad\\xff"), ("co:lon", "co:lon"), ("two\nlines", "two\\nlines")])
@pytest.mark.parametrize("command", [["start", "--dry-run"], ["upload"]])
def test_a_dataset_s3_or_hadoop_cannot_take_is_a_wrong_argument(fruits, moto, staged_weights, tmp_path, command, dataset, shown):
    """Not UTF-8 (S3 keys are: it was a traceback in `upload`), a ':' (Hadoop reads a URI scheme),
    a control character: refused by argparse, on one line, before anything is read or sent."""
    assert refusal_of_dataset(fruits, staged_weights, tmp_path, command, dataset).endswith(
        f"error: argument --dataset: dataset must be valid UTF-8 without ':' or control characters (it is part of every "
        f"image's S3 key and of the path Spark reads), got '{shown}'")


def test_a_dataset_no_s3_key_can_hold_is_a_wrong_argument(fruits, moto, staged_weights, tmp_path):
    """Over 255 bytes (fruits.layout.MAX_DATASET_BYTES): `start` said the dataset was empty."""
    assert refusal_of_dataset(fruits, staged_weights, tmp_path, ["start", "--dry-run"], "d" * 5000).endswith(
        "error: argument --dataset: dataset must be at most 255 bytes of UTF-8 (with a label and a file name of up to 255 bytes "
        "each, an image's S3 key must fit in 1,024 bytes), got 5,000 bytes")


def test_a_fetch_that_cannot_be_put_in_place_leaves_the_previous_one(tmp_path, monkeypatch):
    from pathlib import Path

    from fruits.cloud.results import replace_folder

    target, fetched = tmp_path / "run-1", tmp_path / ".run-1.fetching"
    for folder, text in ((target, "previous"), (fetched, "new")):
        folder.mkdir()
        (folder / "manifest.json").write_text(text)
    original = Path.rename

    def rename(self, to):
        if self == fetched:
            raise OSError("disk full")
        return original(self, to)
    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        replace_folder(fetched, target)
    assert (target / "manifest.json").read_text() == "previous"


def test_a_device_that_fills_up_on_the_last_file_of_a_fetch_is_one_line_and_the_previous_fetch_stays(moto, platform_file, tmp_path, monkeypatch):
    """The photos' downloads fit and .fetched.json did not: OSError's traceback, where a download was one line."""
    import errno
    from pathlib import Path

    from fruits.cloud.platform import load_platform
    from fruits.cloud.results import FETCHED, fetch_results
    from fruits.errors import FruitsError

    s3, run = moto.client("s3"), "run-device-full"
    put(s3, f"results/{run}/manifest.json", json.dumps(MANIFEST).encode())
    platform = load_platform(str(platform_file))
    fetch_results(s3, platform, run, tmp_path / run)  # a first, good fetch
    put(s3, f"results/{run}/pca/matrix.csv", b"path,label\n")
    original = Path.write_text

    def write_text(self, *arguments, **options):
        if self.name == FETCHED:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *arguments, **options)
    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(FruitsError, match=f"cannot write {FETCHED} under {tmp_path / run}: No space left on device; nothing "
                                          r"was fetched \(the previous fetch is kept\)"):
        fetch_results(s3, platform, run, tmp_path / run)
    assert sorted(path.name for path in tmp_path.iterdir()) == [run]  # no staging left beside it
    assert sorted(p.relative_to(tmp_path / run).as_posix() for p in (tmp_path / run).rglob("*")) == [FETCHED, "manifest.json"]
