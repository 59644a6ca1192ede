"""`fruits rehearse`: the whole cloud run on this machine, before spending a cent. An AWS emulator
(moto) on 127.0.0.1 gets what `terraform apply` creates; the real CLI then runs `upload`, `stage`,
`start`, `watch` and `results` against it; each EMR step runs for real on the local Spark.

Two runs, as the image base grows: the first on each fruit's images but the last tenth, the second
(RUN) on all of them, which featurizes only the images its dataset's feature store lacks; each
run's counts are read from its manifest. (The empty-input scenario makes one, failing, run.)

Usage: `rehearse(Rehearsal(images=Path(...), weights=Path(...), work_dir=Path("output/rehearsal"), per_class=30))`
-> exit status. Writes WORK_DIR/rehearsal.json (the last run's id, status, steps; every run with its
counts; clusters) and fetches the results to WORK_DIR/results/RUN/. Every process it starts is
stopped when it ends, Ctrl-C included.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fruits.errors import FruitsError

DATASET = "rehearsal"
EMPTY_DATASET = "rehearsal-empty"  # the "empty-input" scenario runs on this prefix: unreadable photos, no usable image
SCENARIOS = ("success", "empty-input")


@dataclass
class Rehearsal:
    images: Path
    weights: Path
    work_dir: Path
    per_class: int | None = None
    k: int | None = None
    variance: float = 0.95
    scenario: str = "success"
    retry_interval_seconds: int = 5
    master: str = "local[*]"


def select_images(source: Path, per_class: int | None, target: Path) -> int:
    """Links the first `per_class` images (by name) of each label into target/LABEL/: only files the
    pipeline's input rules accept (fruits.input_files), so every linked file is featurized."""
    from fruits.input_files import first_per_label, list_local_folder

    listing = first_per_label(list_local_folder(source), per_class)
    for image in listing.accepted:
        (target / image.label).mkdir(parents=True, exist_ok=True)
        (target / image.relative).symlink_to(Path(listing.path_of(image.relative)).resolve())
    count = len(listing.accepted)
    if count == 0:
        raise FruitsError(f"no images in {source}: expected one sub-folder per fruit with .jpg/.jpeg/.png files")
    return count


def first_run_images(images: Path, target: Path) -> int:
    """Links into target/LABEL/ each label's images but its last tenth (fruits.input_files.hold_back_last:
    a fruit's only image is kept): the first run's input. Returns how many."""
    from fruits.input_files import hold_back_last, list_local_folder

    listing = list_local_folder(images)
    first, _ = hold_back_last(listing, 0.1)
    for image in first.accepted:
        (target / image.label).mkdir(parents=True, exist_ok=True)
        (target / image.relative).symlink_to(Path(listing.path_of(image.relative)).resolve())
    return len(first.accepted)


MARKER = ".fruits-rehearsal"


def prepare_work_dir(work: Path) -> Path:
    """An empty work folder; a previous rehearsal's folder (it has MARKER) is emptied, any other
    non-empty folder is refused, so that nothing of the user's is ever deleted. A link to a folder
    is kept and its folder emptied (links inside are removed, never followed)."""
    if work.exists() and not work.is_dir():
        raise FruitsError(f"--work-dir {work} is a file, not a folder")
    if work.exists() and any(work.iterdir()):
        if not (work / MARKER).is_file():
            raise FruitsError(f"{work} is not empty and was not made by `fruits rehearse`: choose another --work-dir")
        for child in work.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    work.mkdir(parents=True, exist_ok=True)
    (work / MARKER).write_text("made by `fruits rehearse`; emptied by the next rehearsal in this folder\n")
    return work


class Cli:
    """Runs `python -m fruits ...` against the emulator; output goes straight to the console."""

    def __init__(self, endpoint: str, ca_bundle: str, platform_file: Path):
        self.environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": endpoint, "FRUITS_PLATFORM": str(platform_file),
                            "AWS_CA_BUNDLE": ca_bundle, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self.environment.pop("AWS_PROFILE", None)
        self.environment.pop("AWS_SESSION_TOKEN", None)

    def __call__(self, *arguments: str) -> int:
        print(f"\n$ fruits {' '.join(arguments)}", flush=True)
        process = subprocess.Popen([sys.executable, "-m", "fruits", *arguments], env=self.environment)
        try:
            return process.wait()
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait()


def rehearse(options: Rehearsal) -> int:
    from fruits.layout import new_run_id
    from fruits.rehearsal.emr_step_driver import EmrStepDriver
    from fruits.rehearsal.emulator import MotoServer
    from fruits.rehearsal.local_steps import Emulator, LocalSteps
    from fruits.rehearsal.platform import create_platform
    from fruits.rehearsal.tls import java_truststore, self_signed_certificate
    from fruits.s3a import JARS_DIR, s3a_conf

    if options.scenario not in SCENARIOS:
        raise FruitsError(f"unknown scenario {options.scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if not options.weights.is_file():
        raise FruitsError(f"weights file not found: {options.weights}")
    s3a_conf("https://127.0.0.1", JARS_DIR)  # the S3A jars are there, before anything starts
    # Its progress shows as it happens through a pipe or `tee` too (the step driver's thread prints
    # between the CLI's children, which write to the same output); and a Ctrl-C reader sees where it is.
    if hasattr(sys.stdout, "reconfigure"):  # not when a caller put some other stream there
        sys.stdout.reconfigure(line_buffering=True)
    work = prepare_work_dir(options.work_dir)
    count = select_images(options.images, options.per_class, work / "images")
    run_id, started = "rehearsal-" + new_run_id().removeprefix("run-"), time.monotonic()
    record = {"run_id": run_id, "scenario": options.scenario, "images": count, "status": "NOT STARTED", "runs": []}
    print(f"Rehearsal {run_id}: {count} images from {options.images}, work folder {work}")
    cert, key = self_signed_certificate(work / "tls")
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # the run's own errors are shown by `fruits watch`
    with MotoServer(tls=(cert, key)) as moto:
        print(f"AWS emulator on {moto.endpoint} (TLS); creating what `terraform apply` creates "
              "(key, bucket, roles, network, state machine rendered by the offline Terraform)")
        # The emulated cluster starts at once: check it every 2 s, not every minute, for at most 2 min.
        platform_file, outputs = create_platform(moto, work / "platform", {"retry_interval_seconds": options.retry_interval_seconds,
                                                                           "cluster_check_seconds": 2, "cluster_start_timeout_seconds": 120})
        emulator = Emulator(moto.endpoint, java_truststore(cert, work / "tls"), outputs["kms_key_arn"], moto.region)
        with LocalSteps(emulator, moto.client("s3"), work / "steps", options.master) as steps, \
                EmrStepDriver(run_step=steps) as driver:
            try:
                run_cli(Cli(moto.endpoint, str(cert), platform_file), options, run_id, work, record, steps)
            finally:
                steps.stop()
                for run in record["runs"]:
                    run["steps"] = steps.ran[run.pop("first_step"):run.pop("last_step", None)]
                record["steps"] = record["runs"][-1]["steps"] if record["runs"] else []
                record["clusters"] = {cluster.id: cluster.state for cluster in driver.clusters()}
                last_clusters = [cluster.id for cluster in driver.clusters() if cluster.name == f"fruits-{run_id}"]
                record["bucket"] = bucket_contents(moto.client("s3"), outputs, run_id, last_clusters,
                                                   DATASET if options.scenario == "success" else EMPTY_DATASET)
                record["seconds"] = round(time.monotonic() - started, 1)
                (work / "rehearsal.json").write_text(json.dumps(record, indent=2))
    return report(record, work)


def bucket_contents(s3, outputs: dict, run_id: str, clusters: list[str], dataset: str) -> dict:
    """What the run left in the emulated bucket (its results, its clusters' logs) and what the
    dataset's feature store holds: key -> size, encryption."""
    from fruits.layout import BucketLayout

    contents, bucket, layout = {}, outputs["bucket_name"], BucketLayout.from_prefixes(outputs["prefixes"])
    prefixes = [layout.run_prefix(run_id), *(f"{layout.emr_logs_prefix}{cluster}/" for cluster in clusters),
                layout.feature_store_prefix(layout.images_prefix(dataset))]
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                head = s3.head_object(Bucket=bucket, Key=item["Key"])
                contents[item["Key"]] = {"size": item["Size"], "sse": head.get("ServerSideEncryption"),
                                         "kms_key": head.get("SSEKMSKeyId")}
    return contents


def run_cli(fruits: Cli, options: Rehearsal, run_id: str, work: Path, record: dict, steps) -> None:
    """stage, then for each run: upload, start, watch, and results if it succeeded; `record`
    follows along (`steps`: the LocalSteps whose attempts each run gets)."""
    success = options.scenario == "success"
    if success:  # two runs: the image base grows between them
        runs = [(f"{run_id}-first", work / "images-first", first_run_images(work / "images", work / "images-first"), DATASET),
                (run_id, work / "images", record["images"], DATASET)]
    else:
        runs = [(run_id, unreadable_input(work / "empty-input"), 2, EMPTY_DATASET)]
    check(fruits, "stage", "--weights", str(options.weights), "--quiet")
    for name, images, count, dataset in runs:
        check(fruits, "upload", str(images), "--dataset", dataset, "--quiet")  # sends only what is not there yet
        run = {"run_id": name, "images": count, "status": "NOT STARTED", "first_step": len(steps.ran)}
        record["runs"].append(run)
        pca = ["--k", str(options.k)] if options.k else ["--variance", str(options.variance)]
        check(fruits, "start", "--dataset", dataset, "--weights", str(options.weights), "--run-id", name, *pca)
        record["status"] = run["status"] = "RUNNING"
        watched = fruits("watch", name, "--interval", "2")
        record["status"] = run["status"] = "SUCCEEDED" if watched == 0 else "FAILED"
        run["last_step"] = len(steps.ran)
        if watched != 0:
            return
        check(fruits, "results", name, "--to", str(work / "results"))
        store = json.loads((work / "results" / name / "manifest.json").read_text()).get("feature_store") or {}
        run["feature_store"] = {field: store.get(field) for field in ("featurized_now", "from_store", "key_id")}


def check(fruits: Cli, *arguments: str) -> None:
    if fruits(*arguments) != 0:
        raise FruitsError(f"`fruits {arguments[0]}` failed (see above)")


def unreadable_input(folder: Path) -> Path:
    """Two .jpg files that are not photos: `fruits start` takes the prefix (it refuses one with fewer
    than 2 photos' names), and the extract job fails on the cluster, as a run on bad input does."""
    (folder / "Unreadable").mkdir(parents=True, exist_ok=True)
    for name in ("not-a-photo.jpg", "nor-this.jpg"):
        (folder / "Unreadable" / name).write_bytes(b"not a photo")
    return folder


def report(record: dict, work: Path) -> int:
    alive = [cluster for cluster, state in record["clusters"].items() if not state.startswith("TERMINATED")]
    print(f"\nRehearsal {record['run_id']}: {record['status']} in {record['seconds']} s; clusters: "
          + (", ".join(f"{cluster} {state}" for cluster, state in record["clusters"].items()) or "none"))
    for run in record["runs"]:
        counts = run.get("feature_store")
        print(f"  run {run['run_id']}: {run['status']}, {run['images']} images" + (
            f", {counts['featurized_now']} featurized now, {counts['from_store']} from the feature store (its manifest)"
            if counts else ""))
        for attempt in run.get("steps", []):
            print(f"    step {attempt['step']}: exit {attempt['exit']}, logs {attempt['log']}")
    if alive:
        raise FruitsError(f"clusters left running in the emulator: {', '.join(alive)}")
    if record["status"] != "SUCCEEDED":
        raise FruitsError(f"the rehearsed run {record['run_id']} {record['status']} (record: {work / 'rehearsal.json'})")
    print(f"  results: {work / 'results' / record['run_id']}")
    return 0
