"""Plays EMR's part for moto, whose clusters never start and whose steps never finish: a thread
moves clusters from STARTING to WAITING, runs one PENDING step at a time, and ends each step
with the outcome a test scripts for its name.

Usage:
    with EmrStepDriver({"Extract features": ["FAILED", "COMPLETED"]}) as driver: ...
Clusters that existed before the driver started keep their state. Outcomes per step name, in
attempt order: "COMPLETED" (default), "FAILED", or "HANG" (stays
RUNNING, for timeouts). `cluster_outcome="TERMINATED_WITH_ERRORS"` makes clusters fail to start,
"STARTING" never end their start; `cluster_start_seconds` is how long a start takes.
`throttled_checks=N` refuses the next N DescribeCluster calls with ThrottlingException, as EMR
does past its request rate (API_DescribeCluster.html lists ThrottlingException among the common errors).
`run_step` (optional) is called with (cluster, step) to decide the outcome for real (it may set
`step.failure_details`, see emr_integration.py); it runs in this driver's thread.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from moto.core.exceptions import ServiceException
from moto.core.utils import utcnow
from moto.emr import models as moto_emr_models
from moto.emr.models import emr_backends
from moto.emr.responses import ElasticMapReduceResponse

ACCOUNT = "123456789012"


class ThrottlingException(ServiceException):
    code = "ThrottlingException"


class EmrStepDriver:
    def __init__(self, outcomes=None, step_seconds=0.3, cluster_outcome="WAITING", run_step=None, cluster_start_seconds=0.0,
                 throttled_checks=0):
        self.outcomes = defaultdict(deque, {name: deque(values) for name, values in (outcomes or {}).items()})
        self.step_seconds, self.cluster_outcome, self.run_step = step_seconds, cluster_outcome, run_step
        self.cluster_start_seconds = cluster_start_seconds
        self.throttled_checks = throttled_checks  # DescribeCluster calls still to refuse
        self.finished: list[tuple[str, str]] = []  # (step name, final state), in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="emr-step-driver", daemon=True)

    def __enter__(self) -> "EmrStepDriver":
        self._existing = {cluster.id for cluster in self.clusters()}
        # moto finishes a cluster's start inside RunJobFlow (WAITING at once); like real EMR, new
        # clusters stay STARTING here until this driver decides how their start ends.
        self._original_bootstrap = moto_emr_models.Cluster.run_bootstrap_actions
        moto_emr_models.Cluster.run_bootstrap_actions = lambda cluster: setattr(cluster, "state", "STARTING")
        self._original_describe = original_describe = ElasticMapReduceResponse.describe_cluster

        def describe_cluster(response):  # the API call, in the server's thread (moto's own calls go to its backend)
            if self.throttled_checks > 0:
                self.throttled_checks -= 1
                raise ThrottlingException("Rate exceeded")
            return original_describe(response)

        ElasticMapReduceResponse.describe_cluster = describe_cluster
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        moto_emr_models.Cluster.run_bootstrap_actions = self._original_bootstrap
        ElasticMapReduceResponse.describe_cluster = self._original_describe

    def clusters(self):
        """Every cluster of moto's account, in creation order. moto 5.2.5's interpreter creates
        them in its us-east-1 backend whatever the execution's region, so all regions are read.
        moto registers a cluster at the start of its constructor, in the server's thread: one still
        being built (no state yet, maybe no creation time) is left for the next look, and each
        mapping is copied at once (list() of a dict is one step under the GIL), so a cluster added
        meanwhile cannot break the iteration."""
        found = [cluster for backend in list(emr_backends[ACCOUNT].values()) for cluster in list(backend.clusters.values())
                 if getattr(cluster, "state", None) is not None and hasattr(cluster, "creation_datetime")]
        return sorted(found, key=lambda cluster: cluster.creation_datetime)

    def _loop(self) -> None:
        started: dict[str, float] = {}
        seen: set[str] = set(self._existing)
        while not self._stop.wait(0.05):
            for cluster in self.clusters():
                if cluster.id not in seen and cluster.state == "STARTING":
                    if time.monotonic() - started.setdefault(cluster.id, time.monotonic()) >= self.cluster_start_seconds:
                        seen.add(cluster.id)
                        cluster.state = self.cluster_outcome
                    continue
                if cluster.state in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"):
                    continue
                running = [step for step in cluster.steps if step.state == "RUNNING"]
                for step in running:
                    started.setdefault(step.id, time.monotonic())
                    if time.monotonic() - started[step.id] < self.step_seconds:
                        continue
                    outcome = self._outcome(cluster, step)
                    if outcome != "HANG":
                        step.state, step.end_date_time = outcome, utcnow()
                        self.finished.append((step.name, outcome))
                if not running:
                    pending = [step for step in cluster.steps if step.state == "PENDING"]
                    if pending:
                        pending[0].state, pending[0].start_date_time = "RUNNING", utcnow()

    def _outcome(self, cluster, step) -> str:
        if self.run_step is not None:
            return self.run_step(cluster, step)
        queue = self.outcomes[step.name]
        if not queue:
            return "COMPLETED"
        return queue[0] if len(queue) == 1 and queue[0] == "HANG" else queue.popleft()
