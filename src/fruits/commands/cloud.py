"""The cloud commands, used after `terraform apply`: upload, stage, start, status, watch, stop,
runs, results, cost. Each reads the platform (`terraform output -json`), refuses a non-EU region before
any AWS call, and reports AWS errors in one line.

Usage:
    fruits upload PHOTOS_FOLDER             # labelled sub-folders -> s3://BUCKET/images/DATASET/
    fruits stage                            # code, bootstrap, lock, weights -> artifacts/HASH/
    fruits start [--dry-run] [--k 50]       # prints the run id and the console link
    fruits watch RUN  |  fruits status RUN  |  fruits runs  |  fruits results RUN  |  fruits cost
    fruits stop RUN                         # stops its execution and terminates its cluster
Every key is where the platform's `prefixes` output puts it (platform.layout, fruits.layout), and
the cost is the cluster's in its `emr_instances` output.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from fruits.commands.store_report import store_counts
from fruits.errors import FruitsError
from fruits.layout import MANIFEST, dataset_name, new_run_id, validate_run_id
from fruits.cloud.prices import MAX_INSTANCE_COUNT
from fruits.options import (add_pca_arguments, bounded_int, path_argument, positive_int, refresh_seconds, require_writable_folder,
                            whole_number)
from fruits.settings import KERAS_IMAGENET, local_folder

DEFAULT_DATASET = "fruits-360"


def platform_options() -> argparse.ArgumentParser:
    """The options every command that reads the platform takes (argparse parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--platform", type=path_argument, help="`terraform output -json` saved to a file (default $FRUITS_PLATFORM, else output/platform.json)")
    where.add_argument("--terraform-dir", type=path_argument, help="run `terraform output -json` in this folder instead")
    common.add_argument("--quiet", action="store_true", help="no progress display")
    return common


def register(subparsers) -> None:
    common = platform_options()

    parser = subparsers.add_parser("upload", parents=[common], help="upload labelled images to the bucket")
    parser.add_argument("folder", nargs="?", type=path_argument, help="one sub-folder per fruit (default: the shared sample)")
    parser.add_argument("--dataset", type=dataset_name, default=DEFAULT_DATASET, help=f"name under images/ (default {DEFAULT_DATASET})")
    missing = parser.add_mutually_exclusive_group()
    missing.add_argument("--delete-missing", dest="missing", action="store_const", const="delete",
                         help="remove the dataset's photos that the folder lacks, after the upload (default: refuse)")
    missing.add_argument("--keep-missing", dest="missing", action="store_const", const="keep",
                         help="keep them: the folder adds to the dataset")
    parser.set_defaults(handler=upload, missing="refuse")

    parser = subparsers.add_parser("stage", parents=[common], help="stage the jobs, bootstrap, lock, its wheelhouse and weights")
    parser.add_argument("--weights", type=path_argument, help="MobileNetV2 no-top weights (.h5); default $FRUITS_WEIGHTS, else the shared file")
    parser.add_argument("--wheelhouse", type=path_argument, help="a wheelhouse built for requirements/cluster.lock; default $FRUITS_WHEELHOUSE, "
                        "else .tools/wheelhouse/ (downloaded from PyPI the first time)")
    parser.set_defaults(handler=stage)

    parser = subparsers.add_parser("start", parents=[common], help="start a run of the pipeline")
    parser.add_argument("--dataset", type=dataset_name, default=DEFAULT_DATASET, help=f"images/DATASET/ to process (default {DEFAULT_DATASET})")
    parser.add_argument("--weights", type=path_argument, help="the weights staged with `fruits stage` (same default)")
    parser.add_argument("--run-id", type=validate_run_id, help="letters, digits, '-', '_' (default: a new unique id)")
    parser.add_argument("--replace", action="store_true", help="run again under the id of a complete run, replacing its results")
    add_pca_arguments(parser, standardize=False)
    parser.add_argument("--full-recompute", action="store_true", help="featurize every image, even those whose features the "
                        "dataset's feature store (feature-store/DATASET/) holds")
    parser.add_argument("--purge", action="store_true", help="erase from the feature store the features of every image no "
                        "longer under images/DATASET/ (the right to erasure: delete the photo, then start with --purge)")
    parser.add_argument("--dry-run", action="store_true", help="print the execution input; call nothing")
    parser.set_defaults(handler=start)

    for name, handler, text in (("status", status, "show a run's state once"), ("watch", watch, "show a run's state until it ends")):
        parser = subparsers.add_parser(name, parents=[common], help=text)
        parser.add_argument("run_id", metavar="RUN", type=validate_run_id)  # checked before it goes into an execution ARN
        parser.add_argument("--interval", type=refresh_seconds, default=10.0, help="seconds between refreshes (watch), "
                            "at least 1: each refresh makes several AWS calls, which AWS throttles per account (default 10)")
        parser.set_defaults(handler=handler)

    parser = subparsers.add_parser("stop", parents=[common], help="stop a run and terminate its cluster")
    parser.add_argument("run_id", metavar="RUN", type=validate_run_id)
    parser.set_defaults(handler=stop)

    parser = subparsers.add_parser("runs", parents=[common], help="list recent runs")
    parser.add_argument("--limit", type=positive_int, default=20, help="how many, newest first (default 20)")
    parser.set_defaults(handler=runs)

    parser = subparsers.add_parser("results", parents=[common], help="fetch a run's summary and matrix")
    parser.add_argument("run_id", metavar="RUN", type=validate_run_id)
    parser.add_argument("--to", type=path_argument, default="output", help="local parent folder (default ./output)")
    parser.set_defaults(handler=results)

    parser = subparsers.add_parser("cost", parents=[common], help="estimate a run's cost before starting it")
    parser.add_argument("--images", type=positive_int, required=True, help="number of images the run will process")
    parser.add_argument("--new-images", type=whole_number, help="how many of them the feature store lacks: an incremental run "
                        "reads and featurizes only these, and the others' stored features (default: all, a first run)")
    parser.add_argument("--core-nodes", type=bounded_int(MAX_INSTANCE_COUNT, "EMR's InstanceCount is a 32-bit Integer"),
                        help=f"core nodes, 1 to {MAX_INSTANCE_COUNT:,} (default: the platform's, else 2 as in terraform)")
    parser.set_defaults(handler=cost, wrong_argument=parser.error)


def platform_of(args):
    from fruits.cloud.platform import load_platform
    return load_platform(args.platform, args.terraform_dir)


def clients(platform, *services):
    from fruits.cloud.aws import aws_client
    return [aws_client(service, platform.region) for service in services]


def upload(args) -> int:
    from fruits.cloud.images_upload import upload_images
    from fruits.settings import resolve_images

    platform = platform_of(args)
    folder = Path(resolve_images(args.folder))
    (s3,) = clients(platform, "s3")
    summary = upload_images(s3, platform, folder, args.dataset, show=not args.quiet, missing=args.missing)
    print(f"{summary['images']} images in {summary['labels']} classes -> {summary['uri']}: "
          f"{summary['uploaded']} uploaded ({summary['bytes'] / 1e6:.1f} MB), {summary['skipped']} already there")
    if summary["deleted"]:
        print(f"{summary['deleted']} photos the folder lacks deleted from {summary['uri']}")
    elif summary["missing"]:
        print(f"{summary['missing']} photos the folder lacks kept in {summary['uri']} (--keep-missing)")
    show_ignored(summary["ignored"])
    show_refused(summary["refused"])
    return 0


SHOWN_REFUSED = 50


def show_ignored(ignored: list[Path]) -> None:
    """Counts the files `upload` did not send for their suffix, each suffix escaped (a name is anyone's)."""
    from fruits.input_files import shown

    if ignored:
        suffixes = Counter(path.suffix.lower() or "(no suffix)" for path in ignored)
        print(f"{len(ignored)} other files not sent (the pipeline reads only .jpg, .jpeg and .png): "
              + ", ".join(f"{shown(suffix)} ({count})" for suffix, count in sorted(suffixes.items())), file=sys.stderr)


def show_refused(refused: list[tuple[str, str]]) -> None:
    """Names each photo `upload` did not send because a run would reject it (none is left out silently)."""
    from fruits.input_files import shown

    if not refused:
        return
    reasons = Counter(reason.split(":")[0] for _, reason in refused)
    print(f"{len(refused)} files not sent, as a run would reject them: "
          + ", ".join(f"{reason} ({count})" for reason, count in reasons.most_common()), file=sys.stderr)
    for relative, reason in refused[:SHOWN_REFUSED]:
        print(f"  {shown(relative)}: {shown(reason)}", file=sys.stderr)
    if len(refused) > SHOWN_REFUSED:
        print(f"  ... and {len(refused) - SHOWN_REFUSED} more", file=sys.stderr)


def weights_path(value, command: str) -> Path:
    """The weights file `fruits COMMAND` stages: never Keras's `imagenet` download, which the nodes
    cannot make (their subnet has no route to the internet: terraform/modules/network)."""
    from fruits.layout import EXTRACT_JOB
    from fruits.project import checkout_file
    from fruits.settings import resolve_weights
    weights = resolve_weights(value)
    if weights == KERAS_IMAGENET:
        checkout_file(EXTRACT_JOB, f"`fruits {command}`")  # without a checkout (no shared weights either), say that first
        raise FruitsError("the clusters cannot download Keras's imagenet weights (their subnet has no route to the "
                          "internet): pass --weights with a MobileNetV2 no-top .h5 file, which `fruits stage` puts in "
                          "the bucket (`fruits run-local --weights imagenet` downloads them here, into ~/.keras)")
    return Path(weights)


def stage(args) -> int:
    from fruits.cloud.artifacts import plan_artifacts, stage_artifacts
    from fruits.cloud.wheelhouse import local_wheelhouse
    from fruits.layout import REQUIREMENTS_LOCK

    platform = platform_of(args)
    (s3,) = clients(platform, "s3")
    with tempfile.TemporaryDirectory(prefix="fruits-stage-") as scratch:
        plan = plan_artifacts(platform.layout, weights_path(args.weights, "stage"), Path(scratch))  # checks the weights first
        wheelhouse = local_wheelhouse(plan.files[REQUIREMENTS_LOCK], args.wheelhouse, show=not args.quiet)
        summary = stage_artifacts(s3, platform, plan, wheelhouse, show=not args.quiet)
    print(f"Staged {len(plan.files)} files -> {summary['uri']} ({summary['uploaded']} uploaded, {summary['skipped']} unchanged)")
    wheels = summary["wheelhouse"]
    print(f"Wheelhouse of {len(wheelhouse.wheels)} wheels ({wheelhouse.size / 1e6:.0f} MB) -> {wheels['uri']} "
          + ("(already there)" if wheels["already_there"] else f"({wheels['uploaded']} files uploaded, {wheels['skipped']} unchanged)"))
    return 0


def start(args) -> int:
    from fruits.cloud.artifacts import plan_artifacts, require_staged
    from fruits.cloud.execution_input import build_execution_input
    from fruits.cloud.executions import console_link, execution_name, start_run
    from fruits.cloud.results import refuse_complete_run
    from fruits.cloud.spot_role import require_spot_role
    from fruits.cloud.transfer import require_images

    platform = platform_of(args)
    layout = platform.layout
    with tempfile.TemporaryDirectory(prefix="fruits-stage-") as scratch:
        plan = plan_artifacts(layout, weights_path(args.weights, "start"), Path(scratch))
    try:
        execution_input = build_execution_input(
            bucket=platform.bucket, region=platform.region, run_id=args.run_id or new_run_id(), artifacts_prefix=plan.prefix,
            weights_key=plan.weights_key, layout=layout, images_prefix=layout.images_prefix(args.dataset),
            k=args.k, variance=args.variance, wheelhouse_prefix=plan.wheelhouse_prefix,
            full_recompute=args.full_recompute, purge=args.purge)
    except ValueError as error:
        raise FruitsError(str(error)) from None
    if args.dry_run:
        print(json.dumps(execution_input, indent=2))
        return 0
    sfn, s3, iam = clients(platform, "stepfunctions", "s3", "iam")
    if not args.replace:
        refuse_complete_run(s3, platform, execution_input["run_id"])
    require_staged(s3, platform, plan)
    require_images(s3, platform.bucket, layout.images_prefix(args.dataset), k=args.k)
    require_spot_role(iam, platform.outputs.get("emr_instances"))
    arn, start = start_run(sfn, platform, execution_input)
    run_id = execution_input["run_id"]
    again = f" (start {start} of this run id: execution {execution_name(run_id, start)})" if start > 1 else ""
    print(f"Started {run_id}{again}\n  {console_link(platform, arn)}\n  follow it: fruits watch {run_id}")
    return 0


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def render(view) -> str:
    from fruits.cloud.clusters import LIVE_STATES

    now = datetime.now(timezone.utc)
    elapsed = ((view.ended or now) - view.started).total_seconds()
    cost = (f"cost so far ~{view.cost_so_far:.2f} USD ({view.hourly_usd:.3f} USD/h on-demand)" if view.hourly_usd is not None
            else f"cost so far unknown: {view.price_note}")
    again = f" (start {view.start} of this run id)" if view.start > 1 else ""
    lines = [f"Run {view.run_id}: {view.status}{again}   elapsed {format_duration(elapsed)}   "
             f"cluster {view.cluster_id or '-'} {view.cluster_state}   {cost}",
             f"  {'state':<34} {'status':<9} {'tries':>5}  {'started':<8} {'duration':>9}"]
    for state in view.states:
        took = ((state.ended or now) - state.started).total_seconds() if state.started else 0
        started = state.started.astimezone(timezone.utc).strftime("%H:%M:%S") if state.started else "-"
        lines.append(f"  {state.name[:34]:<34} {state.status:<9} {state.attempts or '-':>5}  {started:<8} {format_duration(took):>9}")
    if view.status != "RUNNING" and view.status != "SUCCEEDED":
        # The cause and EMR's reason hold text others wrote (a StopExecution cause, a job's stderr):
        # on one line, escaped, they cannot clear the screen or print a line that looks like ours.
        lines.append(f"  failed: {one_line_value(view.error)}: {one_line_value(view.cause)}")
        if view.cluster_reason:
            lines.append(f"  cluster {view.cluster_id} {view.cluster_state}: {one_line_value(view.cluster_reason)}")
    if view.status != "RUNNING" and view.cluster_state in LIVE_STATES:  # e.g. an execution stopped in the console
        lines.append(f"  the run has ended but its cluster {view.cluster_id} is {view.cluster_state}, and costs: "
                     f"`fruits stop {view.run_id}` terminates it")
    if view.left_running:  # the run's, though its execution never recorded them
        lines.append(f"  the run has ended but {len(view.left_running)} more cluster(s) tagged with it are live, and cost: "
                     f"{', '.join(view.left_running)}: `fruits stop {view.run_id}` terminates them")
    return "\n".join(lines)


def progress_of(view) -> tuple:
    return view.status, view.cluster_state, tuple((state.name, state.status, state.attempts) for state in view.states)


def show_run(args, once: bool) -> int:
    from fruits.cloud.executions import read_run

    platform = platform_of(args)
    sfn, emr = clients(platform, "stepfunctions", "emr")
    interactive, shown = sys.stdout.isatty(), None
    while True:
        view = read_run(sfn, emr, platform, args.run_id)
        text = render(view)
        if interactive and not once:
            print("\033[H\033[J" + text, flush=True)
        elif progress_of(view) != shown:  # a log gets the table only when something changed
            print(text, flush=True)
            shown = progress_of(view)
        if once or view.status != "RUNNING":
            break
        time.sleep(args.interval)
    if view.status in ("RUNNING", "SUCCEEDED"):
        return 0
    raise FruitsError(f"run {view.run_id} {view.status}: {view.error}: {view.cause}")


def status(args) -> int:
    return show_run(args, once=True)


def watch(args) -> int:
    return show_run(args, once=False)


def stop(args) -> int:
    from fruits.cloud.stop_run import stop_run

    platform = platform_of(args)
    sfn, emr = clients(platform, "stepfunctions", "emr")
    stopped, clusters = stop_run(sfn, emr, platform, args.run_id)
    print(f"Stopped run {args.run_id} (execution {stopped})." if stopped else f"Run {args.run_id} was not running.")
    print(f"Terminating {', '.join(clusters)}: `fruits status {args.run_id}` shows when it has ended." if clusters
          else f"No cluster of run {args.run_id} is running.")
    return 0


def runs(args) -> int:
    from fruits.cloud.executions import list_runs, run_of

    platform = platform_of(args)
    (sfn,) = clients(platform, "stepfunctions")
    executions = list_runs(sfn, platform, args.limit)
    if not executions:
        print("No runs yet: `fruits start` starts one.")
    for execution in executions:
        ended = execution.get("stopDate")
        took = format_duration(((ended or datetime.now(timezone.utc)) - execution["startDate"]).total_seconds())
        run_id, start = run_of(execution["name"])
        print(f"{run_id:<32} {execution['status']:<10} {execution['startDate']:%Y-%m-%d %H:%M} {took:>9}"
              + (f"  (start {start})" if start > 1 else ""))
    return 0


def results(args) -> int:
    from fruits.cloud.results import fetch_results

    target = Path(local_folder(args.to, "--to", "fruits results")) / args.run_id  # a wrong argument first: no AWS call
    platform = platform_of(args)
    (s3,) = clients(platform, "s3")
    require_writable_folder(str(target), "--to")
    files = fetch_results(s3, platform, args.run_id, target)
    manifest = fetched_manifest(target / MANIFEST)
    shown = lambda key: one_line_value(manifest.get(key))  # noqa: E731 - a fetched manifest may hold anything
    print(f"{len(files)} files -> {target}\n  images {shown('featurized')} featurized, {shown('rejected')} rejected; "
          f"k = {shown('k')}; accuracy check {shown('accuracy')}")
    counts = store_counts(manifest.get("feature_store"))
    if counts:
        print(f"  features: {one_line_value(counts)}")
    warnings = manifest.get("warnings") or []
    for warning in warnings if isinstance(warnings, list) else [warnings]:
        print(f"  warning: {one_line_value(warning)}")
    return 0


def one_line_value(value) -> str:
    """A value of a fetched manifest on one line: its control characters escaped, so that it
    cannot print a line that looks like the CLI's own."""
    from fruits.input_files import shown

    return shown(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def fetched_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except ValueError:  # not JSON, or not UTF-8
        manifest = None
    if not isinstance(manifest, dict):
        raise FruitsError(f"{path} is not a JSON object: the run's manifest.json in the bucket is corrupt (the fetched files are kept)")
    return manifest


def cost_platform_outputs(args) -> dict | None:
    """The platform's outputs, or None when there is no platform file yet (none named, none at the
    default path): `cost` then prices Terraform's defaults."""
    from fruits.cloud.platform import DEFAULT_PLATFORM_FILE, PLATFORM_ENV

    if not (args.platform or args.terraform_dir or os.environ.get(PLATFORM_ENV) or Path(DEFAULT_PLATFORM_FILE).exists()):
        return None
    return platform_of(args).outputs


def cost_cluster(outputs: dict | None) -> tuple[tuple, str]:
    """The cluster to price and where it comes from: the platform's (its emr_instances output), or
    Terraform's defaults (`outputs` None: no platform file)."""
    from fruits.cloud.prices import DEFAULT_CLUSTER, INSTANCES_OUTPUT, platform_cluster

    if outputs is None:
        return DEFAULT_CLUSTER, "Terraform's default cluster: no platform file"
    cluster = platform_cluster(outputs)
    if cluster is None:
        return DEFAULT_CLUSTER, f"Terraform's default cluster: the platform outputs lack {INSTANCES_OUTPUT}"
    return cluster, "the platform's cluster"


def cost_timeouts(outputs: dict | None) -> dict:
    """The state machine's step and pipeline timeouts: the platform's, or Terraform's defaults."""
    from fruits.cloud.prices import DEFAULT_TIMEOUTS, platform_timeouts

    if outputs is None:
        return DEFAULT_TIMEOUTS
    return platform_timeouts(outputs) or DEFAULT_TIMEOUTS


def cost(args) -> int:
    from fruits.cloud.prices import (BOOTSTRAP_MINUTES, EMR_PROVISIONING_MINUTES, MAX_EXECUTION_MINUTES, PRICES_DATE, estimate_run,
                                     timeout_overrun)

    if args.new_images is not None and not 0 <= args.new_images <= args.images:
        args.wrong_argument(f"--new-images {args.new_images} is more than --images {args.images}" if args.new_images > 0
                            else f"--new-images must be at least 0, got {args.new_images}")
    outputs = cost_platform_outputs(args)  # read once, for the cluster and the timeouts
    cluster, source = cost_cluster(outputs)
    (primary, _), (core, count) = cluster
    if args.core_nodes:
        count, cluster = args.core_nodes, ((primary, 1), (core, args.core_nodes))
        source += f", {count} core nodes"
    estimate = estimate_run(args.images, cluster, new_images=args.new_images)
    if estimate["minutes"] > MAX_EXECUTION_MINUTES:
        args.wrong_argument(f"{args.images:,} images on 1 {primary} + {count} {core} would take about "
                            f"{estimate['minutes'] / MAX_EXECUTION_MINUTES:,.1f} years, more than the year a Step Functions "
                            "execution may last: such a run cannot end; give more --core-nodes or split the images into datasets")
    images = (f"{args.images} images" if args.new_images is None else
              f"{args.images} images, {args.new_images} of them new (the others' features from the feature store)")
    print(f"{images} on 1 {primary} + {count} {core} ({source}): about {estimate['minutes']:.0f} min, "
          f"{estimate['start_minutes']:.1f} of them the cluster's start ({EMR_PROVISIONING_MINUTES:.1f} min EMR's, assumed; "
          f"{BOOTSTRAP_MINUTES:.1f} min our bootstrap, measured) and {estimate['processing_minutes']:.1f} of processing; "
          f"{estimate['usd']:.2f} USD at "
          f"{estimate['hourly_usd']:.3f} USD/h on-demand (prices of {PRICES_DATE}, eu-west-3; Spot core nodes cost less)")
    overrun = timeout_overrun(estimate, cost_timeouts(outputs))
    if overrun:
        raise FruitsError(f"such a run would not end: {overrun}, so the state machine would stop it and tear the cluster "
                          "down; give more --core-nodes, split the images into datasets, or raise that timeout in Terraform")
    return 0
