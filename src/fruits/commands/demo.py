"""The demo commands: an EMR cluster with JupyterHub to walk through the notebook, separate from
the pipeline's runs (which never use it). Same EU region, roles, KMS and subnet as the pipeline;
no inbound port: JupyterHub is reached through AWS Systems Manager port forwarding.

Usage:
    fruits demo-start [--idle-minutes 30] [--core-nodes 0|1] [--wait] [--dry-run]
    fruits demo-status                  # state, idle timeout, age, cost so far, how to open it
    fruits demo-stop [--dry-run]        # terminates every live demo cluster of this platform at once
A second demo-start while one lives exits 1 and names it. See docs/demo-cluster.md.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from fruits.commands.cloud import DEFAULT_DATASET, clients, format_duration, platform_of, platform_options, weights_path
from fruits.layout import dataset_name
from fruits.cloud.demo_cluster import MAX_IDLE_MINUTES
from fruits.options import bounded_int, path_argument


def register(subparsers) -> None:
    common = platform_options()

    parser = subparsers.add_parser("demo-start", parents=[common], help="start the demo cluster (JupyterHub; stops itself when idle)")
    parser.add_argument("--idle-minutes", type=bounded_int(MAX_IDLE_MINUTES, "the demo cluster stops itself after at most "
                        f"{MAX_IDLE_MINUTES} idle minutes"), default=30,
                        help=f"terminate after this many idle minutes, 1 to {MAX_IDLE_MINUTES} (default 30)")
    parser.add_argument("--core-nodes", type=int, choices=(0, 1), default=0, help="core nodes besides the primary (default 0)")
    parser.add_argument("--dataset", type=dataset_name, default=DEFAULT_DATASET,
                        help=f"images/DATASET/ the notebook reads (default {DEFAULT_DATASET})")
    parser.add_argument("--weights", type=path_argument, help="the weights staged with `fruits stage` (same default)")
    parser.add_argument("--replace-notebook", action="store_true", help="overwrite your saved copy of the notebook")
    parser.add_argument("--wait", action="store_true", help="wait until JupyterHub is up, then print how to open it")
    parser.add_argument("--dry-run", action="store_true", help="print the RunJobFlow request; call nothing")
    parser.set_defaults(handler=demo_start)

    parser = subparsers.add_parser("demo-status", parents=[common], help="show the demo cluster and how to open it")
    parser.set_defaults(handler=demo_status)

    parser = subparsers.add_parser("demo-stop", parents=[common], help="terminate every live demo cluster of this platform now")
    parser.add_argument("--dry-run", action="store_true", help="say which clusters would stop; stop nothing")
    parser.set_defaults(handler=demo_stop)


def demo_start(args) -> int:
    from fruits.cloud.artifacts import plan_artifacts, require_staged
    from fruits.cloud.demo_cluster import (
        JUPYTER_USER, build_run_job_flow, cluster_settings, demo_notebook, idle_timeout_seconds, new_jupyter_password, put_notebook,
        require_session_manager, start_demo)
    from fruits.cloud.execution_input import build_execution_input

    idle_timeout_seconds(args.idle_minutes)  # refused before anything is read or called
    platform = platform_of(args)
    settings, layout = cluster_settings(platform), platform.layout
    require_session_manager(platform)
    with tempfile.TemporaryDirectory(prefix="fruits-stage-") as scratch:
        plan = plan_artifacts(layout, weights_path(args.weights, "demo-start"), Path(scratch))
    uris = build_execution_input(bucket=platform.bucket, region=platform.region, run_id="notebook", artifacts_prefix=plan.prefix, weights_key=plan.weights_key,
                                 layout=layout, images_prefix=layout.images_prefix(args.dataset),
                                 wheelhouse_prefix=plan.wheelhouse_prefix)
    password, password_hash = new_jupyter_password()  # this cluster's own: never EMR's default
    request = build_run_job_flow(platform, settings, uris, args.idle_minutes, args.core_nodes, password_hash)
    notebook = demo_notebook(uris)  # read before a cluster starts
    if args.dry_run:
        print(json.dumps(request, indent=2))
        return 0
    emr, s3 = clients(platform, "emr", "s3")
    require_staged(s3, platform, plan)
    cluster_id = start_demo(emr, request)
    print(f"Started demo cluster {cluster_id}: terminates itself after {args.idle_minutes} idle minutes; "
          f"`fruits demo-stop` stops it now.", flush=True)  # before anything else can fail
    print(f"  JupyterHub user {JUPYTER_USER}, password {password} (this cluster's own, shown only now: keep it)", flush=True)
    print(f"  {put_notebook(s3, platform, notebook, args.replace_notebook)}")
    return show_demos(args, platform, emr, wait=args.wait)


def demo_status(args) -> int:
    platform = platform_of(args)
    (emr,) = clients(platform, "emr")
    return show_demos(args, platform, emr)


def show_demos(args, platform, emr, wait: bool = False) -> int:
    from fruits.cloud.clusters import SERVICE_ROLE_OUTPUT
    from fruits.cloud.demo_cluster import last_ended_demo, live_demo_clusters, read_demo
    from fruits.input_files import shown

    while True:
        views = [read_demo(emr, cluster) for cluster in live_demo_clusters(emr, platform.outputs.get(SERVICE_ROLE_OUTPUT))]
        if not wait or not views or any(v.primary_instance_id for v in views):
            break
        if not args.quiet:
            print(f"  {views[0].state}, waiting for JupyterHub...", flush=True)
        time.sleep(30)
    if not views:
        ended = last_ended_demo(emr, platform.outputs.get(SERVICE_ROLE_OUTPUT))
        if ended:
            view = read_demo(emr, ended)
            print(f"No demo cluster is running. The last one, {view.cluster_id}: {view.state} "
                  f"({shown(view.reason) if view.reason else 'no reason given'}) after {format_duration(view.age_seconds)}, ~{view.cost_so_far:.2f} USD.")
        else:
            print("No demo cluster is running: `fruits demo-start` starts one.")
        return 0
    for view in views:
        print(render(platform.region, view))
    return 0


def render(region: str, view) -> str:
    from fruits.cloud.demo_cluster import JUPYTER_USER, JUPYTERHUB_PORT, NOTEBOOK_NAME, session_command
    from fruits.cloud.prices import PRICES_DATE

    lines = [f"Demo cluster {view.cluster_id}: {view.state}   idle timeout {view.idle_minutes} min   "
             f"age {format_duration(view.age_seconds)}   cost so far ~{view.cost_so_far:.2f} USD "
             f"({view.hourly_usd:.3f} USD/h on-demand, prices of {PRICES_DATE})"]
    if view.primary_instance_id:
        lines += ["  Open the notebook (needs the Session Manager plugin of the AWS CLI):",
                  f"    {session_command(region, view.primary_instance_id)}",
                  f"    then https://localhost:{JUPYTERHUB_PORT} (self-signed certificate), user {JUPYTER_USER} with the password "
                  f"`fruits demo-start` printed: {JUPYTER_USER}/{NOTEBOOK_NAME}, PySpark kernel"]
    else:
        lines.append("  Not ready yet (about 10 minutes): `fruits demo-status` prints how to open it once it is WAITING.")
    return "\n".join(lines)


def demo_stop(args) -> int:
    from fruits.cloud.clusters import SERVICE_ROLE_OUTPUT
    from fruits.cloud.demo_cluster import live_demo_clusters, read_demo, stop_demos

    platform = platform_of(args)
    (emr,) = clients(platform, "emr")
    clusters = live_demo_clusters(emr, platform.outputs.get(SERVICE_ROLE_OUTPUT))
    if not clusters:
        print("No demo cluster is running: nothing to stop.")
        return 0
    views = [read_demo(emr, cluster) for cluster in clusters]
    if not args.dry_run:
        stop_demos(emr, clusters)
    verb = "Would terminate" if args.dry_run else "Terminating"
    for view in views:
        print(f"{verb} {view.cluster_id} ({view.state}, up {format_duration(view.age_seconds)}, ~{view.cost_so_far:.2f} USD so far)")
    return 0
