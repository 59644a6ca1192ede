"""Price table and measured throughput behind `fruits cost` and the cost shown by `fruits watch`.

On-demand list prices in USD per hour, noted 2026-11-24 for eu-west-3 (Paris): EC2 instance +
EMR fee. Check https://aws.amazon.com/emr/pricing/ before relying on them; Spot core nodes
usually cost less, so on-demand is an upper bound.

Usage: `cluster = platform_cluster(platform.outputs)` (the cluster the state machine starts, from
the `emr_instances` output; None without it), `hourly_cost(cluster)`, `estimate_run(images, cluster)`,
or `estimate_run(images, cluster, new_images=n)` for an incremental run (n images the feature store lacks).
A cluster is ((primary type, 1), (core type, count)); an instance type the table lacks is a FruitsError.
"""
from __future__ import annotations

from fruits.errors import FruitsError

PRICES_DATE = "2026-11-24"
HOURLY_USD = {  # instance type -> (EC2 on-demand, EMR fee), eu-west-3
    "m5.xlarge": (0.228, 0.057),
    "m5.2xlarge": (0.456, 0.114),
    "c5.xlarge": (0.202, 0.051),
    "r5.xlarge": (0.296, 0.063),
}
# Terraform's var.emr defaults (a test keeps them equal): the estimate before any `terraform apply`.
DEFAULT_CLUSTER = (("m5.xlarge", 1), ("m5.xlarge", 2))  # primary, core
INSTANCES_OUTPUT = "emr_instances"
# docs.aws.amazon.com/emr/latest/APIReference/API_InstanceGroupConfig.html: InstanceCount is an
# Integer (a 32-bit int in every SDK): no larger count can be asked of EMR. The account's EC2
# quotas are lower, and the account's own.
MAX_INSTANCE_COUNT = 2**31 - 1

# The extract step's featurizing rate, measured by benchmarks/incremental_run.py on 2 cores
# (docs/benchmarks.md, 2026-12-05, ONNX Runtime, a core here being one vCPU): its first run,
# 4,594 images in 45.8 s with the step's fixed costs, 50.1 images per second per core. Priced at
# 40 (0.8 of it): a node's vCPU may be slower than this machine's, and the estimate must not be low.
# (Before ONNX Runtime, the whole pipeline gave about 15.)
IMAGES_PER_VCPU_SECOND = 40.0
# An incremental run lists every image; those its feature store's index knows unchanged are not
# read (fruits.content_index): it looks them up and reads their stored features. The same
# benchmark's third run (all 5,107 images, nothing new: 12.6 s with the step's fixed costs) gives
# 203 images per second per core; priced at 200. New images are read, hashed and featurized at
# IMAGES_PER_VCPU_SECOND. Its second run (10 % new) is then priced at 17.9 s of processing on
# 2 cores, against 19.2 s measured: the difference is the step's fixed part, which
# FIXED_STEP_MINUTES counts (3 min, against about 12 s in a fresh process here).
KNOWN_IMAGES_PER_VCPU_SECOND = 200.0
VCPUS = {"m5.xlarge": 4, "m5.2xlarge": 8, "c5.xlarge": 4, "r5.xlarge": 4}
# A cluster's start is EMR's part, then ours (the bootstrap, on every node at once):
# - EMR's: EC2 instances, EMR's agent, YARN, HDFS and Spark set up. Not measured here (no AWS
#   account) and AWS gives no figure ("launch an EMR cluster in minutes",
#   https://aws.amazon.com/documentation-overview/emr/): an assumption, to replace with the
#   "Wait for the cluster" duration `fruits watch` shows for a real run, minus ours.
# - Ours: bootstrap/install-python-deps.sh into a fresh Python 3.11 from the wheelhouse, no index,
#   measured here by benchmarks/wheelhouse_install.py (docs/benchmarks.md), times a factor for
#   what a node adds that cannot be measured here: dnf installing python3.11, copying the
#   444 MB wheelhouse from S3, and an EBS root volume slower than this disk.
EMR_PROVISIONING_MINUTES = 8.0
BOOTSTRAP_MEASURED_SECONDS = 30.9  # median of 3, 2026-11-29
BOOTSTRAP_NODE_FACTOR = 3.0
BOOTSTRAP_MINUTES = BOOTSTRAP_MEASURED_SECONDS * BOOTSTRAP_NODE_FACTOR / 60
CLUSTER_START_MINUTES = EMR_PROVISIONING_MINUTES + BOOTSTRAP_MINUTES
FIXED_STEP_MINUTES = 3.0  # not measured here: steps' start-up and the PCA step
# docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (and tutorial-continue-new.html):
# a Standard workflow's execution lasts at most one year. A longer estimate is a run that cannot end.
MAX_EXECUTION_MINUTES = 365 * 24 * 60


# The state machine's timeouts (Terraform's var.emr defaults, a test keeps them equal; the platform's
# own from its `pipeline_timeouts` output): an extract step or a run estimated longer would be
# stopped, and the cluster torn down, before its end.
TIMEOUTS_OUTPUT = "pipeline_timeouts"
DEFAULT_TIMEOUTS = {"step_seconds": 7200, "pipeline_seconds": 50400}


def platform_timeouts(outputs: dict) -> dict | None:
    """The step and pipeline timeouts (seconds) from the platform's outputs, or None if it has none."""
    timeouts = outputs.get(TIMEOUTS_OUTPUT)
    if timeouts is None:
        return None
    if not (isinstance(timeouts, dict) and all(isinstance(timeouts.get(name), (int, float)) and not isinstance(timeouts.get(name), bool)
                                               and 0 < timeouts[name] < float("inf") for name in DEFAULT_TIMEOUTS)):
        raise FruitsError(f"the output {TIMEOUTS_OUTPUT} is not the pipeline's step_seconds and pipeline_seconds "
                          f"({str(timeouts)[:200]}): is it the Fruits! platform's terraform output?")
    return {name: timeouts[name] for name in DEFAULT_TIMEOUTS}


def timeout_overrun(estimate: dict, timeouts: dict) -> str | None:
    """What of `estimate` (estimate_run's) would outlast the state machine's `timeouts`, or None."""
    step_minutes = FIXED_STEP_MINUTES + estimate["processing_minutes"]  # the extract step, counted with every step's fixed part
    if step_minutes * 60 > timeouts["step_seconds"]:
        return (f"the extract step would take about {step_minutes:,.0f} min, more than the {timeouts['step_seconds']:,.0f} s "
                f"each step may last (var.emr.step_timeout_seconds)")
    if estimate["minutes"] * 60 > timeouts["pipeline_seconds"]:
        return (f"the run would take about {estimate['minutes']:,.0f} min, more than the {timeouts['pipeline_seconds']:,.0f} s "
                f"an execution may last (var.emr.pipeline_timeout_seconds)")
    return None


def platform_cluster(outputs: dict) -> tuple | None:
    """The pipeline's cluster from the platform's `emr_instances` output, or None if it has none."""
    instances = outputs.get(INSTANCES_OUTPUT)
    if instances is None:
        return None
    try:
        primary, core, count = instances["primary_instance_type"], instances["core_instance_type"], instances["core_instance_count"]
    except (TypeError, KeyError):
        primary = core = count = None
    if not (isinstance(primary, str) and isinstance(core, str) and isinstance(count, (int, float)) and not isinstance(count, bool)
            and 1 <= count <= MAX_INSTANCE_COUNT and count == int(count)):  # also false for nan and inf (JSON's Infinity)
        raise FruitsError(f"the output {INSTANCES_OUTPUT} is not the pipeline cluster's primary_instance_type, core_instance_type "
                          f"and core_instance_count from 1 to {MAX_INSTANCE_COUNT:,} ({str(instances)[:200]}): is it the Fruits! "
                          "platform's terraform output?")
    return ((primary, 1), (core, int(count)))


def require_prices(cluster) -> None:
    unknown = sorted({kind for kind, _ in cluster if kind not in HOURLY_USD or kind not in VCPUS})
    if unknown:
        raise FruitsError(f"no price for {', '.join(unknown)} in the table of {PRICES_DATE} (src/fruits/cloud/prices.py: "
                          f"HOURLY_USD and VCPUS): add its eu-west-3 prices")


def hourly_cost(cluster=DEFAULT_CLUSTER) -> float:
    require_prices(cluster)
    return sum(sum(HOURLY_USD[kind]) * count for kind, count in cluster)


def platform_hourly_cost(outputs: dict) -> tuple[float | None, str]:
    """(USD per hour of the platform's cluster, "") or (None, why it cannot be priced)."""
    try:
        cluster = platform_cluster(outputs)
        if cluster is None:
            return None, (f"the platform outputs lack {INSTANCES_OUTPUT} (run `terraform apply` with this version, then "
                          f"save `terraform output -json` again)")
        return hourly_cost(cluster), ""
    except FruitsError as error:
        return None, str(error)


def estimate_run(images: int, cluster=DEFAULT_CLUSTER, new_images: int | None = None) -> dict:
    """Hours and USD for one run over `images` images; workers are the core nodes (the last group).
    `new_images` given: an incremental run, which reads and featurizes only the new images and
    reads the stored features of the others; None: a first run, every image featurized."""
    require_prices(cluster)
    core_type, core_count = cluster[-1]
    vcpus = VCPUS[core_type] * core_count
    if new_images is None:
        processing_seconds = images / IMAGES_PER_VCPU_SECOND / vcpus
    else:
        processing_seconds = ((images - new_images) / KNOWN_IMAGES_PER_VCPU_SECOND + new_images / IMAGES_PER_VCPU_SECOND) / vcpus
    processing_minutes = processing_seconds / 60
    minutes = CLUSTER_START_MINUTES + FIXED_STEP_MINUTES + processing_minutes
    return {"images": images, "new_images": images if new_images is None else new_images,
            "minutes": minutes, "processing_minutes": processing_minutes, "start_minutes": CLUSTER_START_MINUTES,
            "hourly_usd": hourly_cost(cluster), "usd": hourly_cost(cluster) * minutes / 60, "prices_date": PRICES_DATE}
