"""`fruits rehearse`: the cloud path, end to end, on this machine (AWS emulated, Spark local).

Usage: `fruits rehearse --per-class 30` (the shared sample), `fruits rehearse PHOTOS --k 50`,
`fruits rehearse --scenario empty-input` (shows a failing job's path: cluster terminated, run FAILED).
Needs the dev set-up (`make rehearse` does it): moto, the offline Terraform and the S3A jars.
"""
from __future__ import annotations

from pathlib import Path

from fruits.errors import FruitsError
from fruits.options import add_pca_arguments, bounded_int, path_argument, positive_int, require_writable_folder, spark_master

# Terraform's default (terraform/modules/state-machine-definition). Its pipeline_timeout_seconds validation
# allows 78 at most with the rehearsal's timeouts (steps of 7,200 s, checks every 2 s for 120 s): 79 or
# 10**15 failed there, after the emulator's start, in a long Terraform message.
MAX_RETRY_INTERVAL = 60


def register(subparsers) -> None:
    from fruits.rehearsal.run import SCENARIOS

    parser = subparsers.add_parser(
        "rehearse", help="rehearse the whole cloud run offline (emulated AWS, local Spark)",
        description="Start an AWS emulator on 127.0.0.1 with what `terraform apply` creates, then run the real "
        "upload, stage, start, watch and results commands against it; each EMR step runs on the local Spark.")
    parser.add_argument("images", nargs="?", type=path_argument, help="one sub-folder per fruit (default $FRUITS_IMAGES, else the shared sample)")
    parser.add_argument("--per-class", type=positive_int, help="use only the first N images of each fruit (default: all)")
    parser.add_argument("--weights", type=path_argument, help="MobileNetV2 no-top weights (.h5); default $FRUITS_WEIGHTS, else the shared file")
    add_pca_arguments(parser, standardize=False)
    parser.add_argument("--scenario", choices=SCENARIOS, default="success",
                        help="empty-input starts the run on an images prefix whose photos are all unreadable: the extract "
                        "job fails on the cluster (default success)")
    parser.add_argument("--work-dir", type=path_argument, default="output/rehearsal", help="where the rehearsal keeps its files and the "
                        "fetched results (default output/rehearsal; emptied at each rehearsal)")
    parser.add_argument("--retry-interval", type=bounded_int(MAX_RETRY_INTERVAL, "Terraform's default; the rehearsal's execution "
                        "timeout leaves room for 78 at most"), default=5,
                        help=f"seconds before a failed step's first retry, 1 to {MAX_RETRY_INTERVAL} (default 5; Terraform's default is 60)")
    parser.add_argument("--master", type=spark_master, default="local[*]", help="Spark master of the steps (default local[*])")
    parser.set_defaults(handler=rehearse)


def rehearse(args) -> int:
    from fruits.settings import KERAS_IMAGENET, local_folder, resolve_images, resolve_weights

    try:
        from fruits.rehearsal.run import Rehearsal, rehearse as run_rehearsal
    except ImportError as error:
        raise FruitsError(f"the rehearsal needs the dev set-up ({error.name} is missing): run `make rehearse`") from None
    images, weights = resolve_images(args.images), resolve_weights(args.weights)
    if weights == KERAS_IMAGENET or "://" in weights or "://" in images:
        raise FruitsError("the rehearsal uploads local files: pass a local images folder and a local weights .h5")
    work_dir = local_folder(args.work_dir, "--work-dir", "fruits rehearse")
    require_writable_folder(work_dir, "--work-dir")
    # Each step's spark-submit runs in a session of its own (fruits.rehearsal.local_steps), which no signal to this
    # process reaches: SIGTERM (taken as Ctrl-C by fruits.cli) runs the cleanup that stops it.
    return run_rehearsal(Rehearsal(images=Path(images), weights=Path(weights), work_dir=Path(work_dir),
                                   per_class=args.per_class, k=args.k, variance=args.variance, scenario=args.scenario,
                                   retry_interval_seconds=args.retry_interval, master=args.master))
