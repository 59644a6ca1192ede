"""Bad input to a cloud command ends in one line, `fruits: error: ...` with exit status 1, or in
argparse's usage error with status 2: never a traceback. `fruits start` refuses an images prefix
without photos before it starts anything, and `fruits upload` sends every file it can, then names
each one that failed. The real CLI in its own process, against the moto server."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from fruits.cloud.platform import load_platform
from fruits.cloud.transfer import upload_files
from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES
from tests.cloud.conftest import BUCKET, weights_variant
from tests.support.cli_errors import assert_one_error_line


def platform_file_holding(text: str):
    def setup(tmp_path, moto, fruits, monkeypatch):
        (tmp_path / "platform.json").write_text(text)
        return ["runs"], {"platform": tmp_path / "platform.json"}
    setup.__name__ = f"platform_file_holding({text})"
    return setup


def platform_is_a_folder(tmp_path, moto, fruits, monkeypatch):
    return ["runs"], {"platform": tmp_path}


def terraform_prints_no_json(tmp_path, moto, fruits, monkeypatch):
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "terraform"
    fake.write_text("#!/bin/sh\necho 'Warning: no outputs found'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return ["runs", "--terraform-dir", str(tmp_path)], {}


def endpoint_not_a_url(tmp_path, moto, fruits, monkeypatch):
    return ["runs"], {"endpoint": "not a url"}


def watch_every(interval: str):
    def setup(tmp_path, moto, fruits, monkeypatch):
        return ["watch", "run-never-started", "--interval", interval], {}
    setup.__name__ = f"watch_every({interval})"
    return setup


def runs_limit_zero(tmp_path, moto, fruits, monkeypatch):
    return ["runs", "--limit", "0"], {}


def remote_manifest_holding(body: bytes):
    def setup(tmp_path, moto, fruits, monkeypatch):
        run_id = f"run-corrupt-manifest-{len(body)}"
        moto.client("s3").put_object(Bucket=BUCKET, Key=f"results/{run_id}/manifest.json", Body=body)
        return ["results", run_id, "--to", str(tmp_path)], {}
    setup.__name__ = f"remote_manifest_holding({body!r})"
    return setup


def results_to_a_file(tmp_path, moto, fruits, monkeypatch):
    moto.client("s3").put_object(Bucket=BUCKET, Key="results/run-to-a-file/manifest.json", Body=b'{"k": 3}')
    (tmp_path / "taken").write_text("keep me")
    return ["results", "run-to-a-file", "--to", str(tmp_path / "taken")], {}


def cost_of_more_images_than_a_float_holds(tmp_path, moto, fruits, monkeypatch):
    return ["cost", "--images", "1" + "0" * 400], {}


def cost_of_no_images(tmp_path, moto, fruits, monkeypatch):
    return ["cost", "--images", "0"], {}


def work_dir_is_a_file(tmp_path, moto, fruits, monkeypatch):
    (tmp_path / "taken").write_text("keep me")
    return ["rehearse", "--per-class", "1", "--work-dir", str(tmp_path / "taken")], {}


def rehearse_variance_out_of_range(tmp_path, moto, fruits, monkeypatch):
    return ["rehearse", "/nonexistent", "--variance", "1.5"], {}


def start_k_zero(tmp_path, moto, fruits, monkeypatch):
    return ["start", "--dry-run", "--k", "0"], {}


def staged(fruits, tmp_path) -> str:
    weights = weights_variant(tmp_path / "weights.h5")
    assert fruits("stage", "--weights", str(weights), "--quiet").returncode == 0
    return str(weights)


def start_on_an_empty_prefix(tmp_path, moto, fruits, monkeypatch):
    return ["start", "--dataset", "nothing-here", "--weights", staged(fruits, tmp_path)], {}


def start_on_a_prefix_without_photos(tmp_path, moto, fruits, monkeypatch):
    moto.client("s3").put_object(Bucket=BUCKET, Key="images/notes-only/apple/readme.txt", Body=b"no photo here")
    return ["start", "--dataset", "notes-only", "--weights", staged(fruits, tmp_path)], {}


def start_on_one_photo(tmp_path, moto, fruits, monkeypatch):
    moto.client("s3").put_object(Bucket=BUCKET, Key="images/one-photo/apple/1.jpg", Body=b"a photo")
    return ["start", "--dataset", "one-photo", "--weights", staged(fruits, tmp_path)], {}


def start_with_k_above_the_photos(tmp_path, moto, fruits, monkeypatch):
    for name in ("apple/1.jpg", "apple/2.JPEG", "pear/3.png", "pear/notes.txt"):
        moto.client("s3").put_object(Bucket=BUCKET, Key=f"images/three-photos/{name}", Body=b"a photo")
    return ["start", "--dataset", "three-photos", "--k", "4", "--weights", staged(fruits, tmp_path)], {}


@pytest.mark.parametrize(("setup", "code", "message"), [
    (platform_file_holding("[]"), 1, "is not `terraform output -json` output: a JSON array, not an object"),
    (platform_file_holding("null"), 1, "is not `terraform output -json` output: a JSON null, not an object"),
    (platform_file_holding('"eu-west-3"'), 1, "is not `terraform output -json` output: a JSON string, not an object"),
    (platform_file_holding('{"region": "eu-west-3", "bucket_name": {"value": 5}, "kms_key_arn": "k", "state_machine_arn": "s"}'),
     1, "the outputs bucket_name are not text"),
    (platform_file_holding('{"region": "eu-west-3", "bucket_name": "b", "kms_key_arn": "k", "state_machine_arn": "s", "prefixes": 5}'),
     1, "the output prefixes is not the platform's layout: not a map of the images, artifacts, results, logs, tmp, notebooks, feature_store prefixes"),
    (platform_is_a_folder, 1, "is a folder, not `terraform output -json` output"),
    (terraform_prints_no_json, 1, "`terraform output -json` gave no JSON"),
    (endpoint_not_a_url, 1, "FRUITS_AWS_ENDPOINT_URL='not a url' is not a URL"),
    (watch_every("-1"), 2, "argument --interval: must be a number of seconds above 0 and at most 86,400, got '-1'"),
    (watch_every("0"), 2, "argument --interval: must be a number of seconds above 0 and at most 86,400, got '0'"),
    (watch_every("nan"), 2, "argument --interval: must be a number of seconds above 0 and at most 86,400, got 'nan'"),
    (watch_every("inf"), 2, "argument --interval: must be a number of seconds above 0 and at most 86,400, got 'inf'"),
    (watch_every("1e300"), 2, "argument --interval: must be a number of seconds above 0 and at most 86,400, got '1e300'"),
    (runs_limit_zero, 2, "argument --limit: must be at least 1, got 0"),
    (remote_manifest_holding(b'{"k": 3, trunc'), 1, "manifest.json is not a JSON object"),
    (remote_manifest_holding(b"[1, 2]"), 1, "manifest.json is not a JSON object"),
    (results_to_a_file, 1, "is a file, not a folder"),
    (cost_of_no_images, 2, "argument --images: must be at least 1, got 0"),
    (cost_of_more_images_than_a_float_holds, 2, "argument --images: must be at most 1e+15 in size, got 401 digits"),
    (work_dir_is_a_file, 1, "is a file, not a folder"),
    (rehearse_variance_out_of_range, 2, "argument --variance: must be in (0, 1], got 1.5"),
    (start_k_zero, 2, "argument --k: must be between 1 and 1280"),
    (start_on_an_empty_prefix, 1, f"no photos under s3://{BUCKET}/images/nothing-here/ (it is empty)"),
    (start_on_a_prefix_without_photos, 1, f"no photos under s3://{BUCKET}/images/notes-only/ (1 other file: a run reads only LABEL/NAME photos"),
    (start_on_one_photo, 1, f"only 1 photo under s3://{BUCKET}/images/one-photo/: PCA needs at least 2"),
    (start_with_k_above_the_photos, 1, f"--k 4 is more than the 3 photos under s3://{BUCKET}/images/three-photos/"),
], ids=lambda value: getattr(value, "__name__", str(value)))
def test_bad_input_is_one_line_and_no_traceback(setup, code, message, moto, fruits, platform_file, tmp_path, monkeypatch):
    sfn = moto.client("stepfunctions")
    machine = json.loads(platform_file.read_text())["state_machine_arn"]["value"]
    runs_before = len(sfn.list_executions(stateMachineArn=machine)["executions"])
    arguments, options = setup(tmp_path, moto, fruits, monkeypatch)
    assert_one_error_line(fruits(*arguments, **options), code, message)
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == runs_before  # nothing started
    if setup in (work_dir_is_a_file, results_to_a_file):
        assert (tmp_path / "taken").read_text() == "keep me"


def photos(tmp_path, count: int = 3):
    folder = tmp_path / "photos" / "apple"
    folder.mkdir(parents=True)
    for image in sorted(next(p for p in sorted(SAMPLE_IMAGES.iterdir()) if p.is_dir()).glob("*.jpg"))[:count]:
        shutil.copy(image, folder / image.name)
    return folder.parent


def test_upload_sends_every_file_it_can_and_names_each_failure_on_its_own_line(moto, platform_file, tmp_path, monkeypatch, capsys):
    """S3 refuses one object, as it may (a policy on part of a prefix, an internal error after the
    retries); moto refuses none, so the refusal is added to the real client, for that key only."""
    from botocore.exceptions import ClientError

    from fruits import cli
    from fruits.cloud import aws

    def refuse_one_key(params, **_):
        if params["Key"].endswith("/refused.jpg"):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error.\nPlease try again."}},
                              "PutObject")

    def client_refusing_one_key(service, region, real=aws.aws_client):
        client = real(service, region)
        client.meta.events.register("before-parameter-build.s3.PutObject", refuse_one_key)
        return client

    monkeypatch.setattr(aws, "aws_client", client_refusing_one_key)
    for name, value in {"FRUITS_AWS_ENDPOINT_URL": moto.endpoint, "FRUITS_PLATFORM": str(platform_file),
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    folder = photos(tmp_path)
    shutil.copy(next(folder.glob("apple/*.jpg")), folder / "apple" / "refused.jpg")

    assert cli.main(["upload", str(folder), "--dataset", "upload-failures", "--quiet"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"fruits: error: upload {folder / 'apple' / 'refused.jpg'} to s3://{BUCKET}/images/upload-failures/apple/refused.jpg: "
        "InternalError: We encountered an internal error. Please try again.",
        f"fruits: error: 1 of 4 files not uploaded to s3://{BUCKET}/images/upload-failures/apple/ (3 uploaded, 0 already there): "
        "run the same command again to retry them (the files already there are skipped)"]
    keys = [item["Key"] for item in moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="images/upload-failures/")["Contents"]]
    assert len(keys) == 3 and not any(key.endswith("/refused.jpg") for key in keys)  # the others were kept

    assert cli.main(["upload", str(folder), "--dataset", "upload-failures", "--quiet"]) == 1
    assert "(0 uploaded, 3 already there)" in capsys.readouterr().err  # resumable: only the refused one is tried again


def test_a_file_that_fails_does_not_stop_the_others(moto, platform_file, tmp_path):
    from fruits.cloud.transfer import UploadsFailed

    folder = photos(tmp_path, count=2)
    good = sorted(folder.glob("*/*.jpg"))
    vanished = folder / "apple" / "vanished.jpg"
    files = [(good[0], "images/upload-vanished/apple/1.jpg"), (vanished, "images/upload-vanished/apple/2.jpg"),
             (good[1], "images/upload-vanished/apple/3.jpg")]
    with pytest.raises(UploadsFailed) as raised:
        upload_files(moto.client("s3"), load_platform(str(platform_file)), files, show=False)
    assert raised.value.details == [f"upload {vanished}: No such file or directory"]
    assert str(raised.value).startswith("1 of 3 files not uploaded to s3://")
    keys = [item["Key"] for item in moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="images/upload-vanished/")["Contents"]]
    assert keys == ["images/upload-vanished/apple/1.jpg", "images/upload-vanished/apple/3.jpg"]
