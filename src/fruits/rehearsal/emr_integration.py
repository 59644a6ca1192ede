"""Adds the EMR integrations (createCluster, addStep, terminateCluster; request-response and
.sync) to moto 5.2.5's Step Functions interpreter, which otherwise fails them at once with
States.Runtime. Imports moto internals: valid only for the pinned moto.

Usage: `install()` once, in the process that runs the moto server (ThreadedMotoServer).
Differences from AWS that the tests must not depend on:
- AWS polls EMR for .sync tasks about once a minute; this polls as fast as moto's callback loop.
- moto 5.2.5 reuses the task token of a failed .sync attempt on Retry, so the retry would end at
  once; every retry attempt gets a fresh token here.
- moto's EMR never runs a step: EmrStepDriver (emr_step_driver.py) decides each outcome, and a
  step's `failure_details` (set by whoever failed it) shows as Status.FailureDetails, as on EMR.
"""
from __future__ import annotations

import datetime
import json
from typing import Any, Callable

from botocore.exceptions import ClientError
from moto.emr import models as moto_emr_models
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

ACTIONS = ("createcluster", "addstep", "terminatecluster")
FAILED_STEP_STATES = ("FAILED", "CANCELLED", "INTERRUPTED")
GONE_CLUSTER_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")


def jsonable(value) -> Any:
    return json.loads(json.dumps(value, default=lambda x: x.isoformat() if isinstance(x, datetime.datetime) else str(x)))


class EmrIntegration(StateTaskServiceCallback):
    def __init__(self):
        super().__init__(supported_integration_patterns={ResourceCondition.WaitForTaskToken, ResourceCondition.Sync})

    def _validate_service_integration_is_supported(self):
        if self.resource.api_action.lower() not in ACTIONS:
            raise ValueError(f"The resource provided {self.resource.resource_arn} not recognized.")

    def _get_supported_parameters(self):
        return None

    def _eval_execution(self, env):
        if env.states.context_object.context_object_data.get("State", {}).get("RetryCount", 0) > 0:
            token = env.states.context_object.update_task_token()  # moto's retry-token bug, see above
            env.callback_pool_manager.add(token)
        super()._eval_execution(env)

    def _emr(self, runtime_part, credentials):
        return boto_client_for(region=runtime_part.region, service="emr", state_credentials=credentials)

    def _failure(self, env, error: str, cause: str) -> FailureEventException:
        name = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed) if error.startswith("States.") else CustomErrorName(error)
        details = TaskFailedEventDetails(resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type(),
                                         error=error, cause=cause)
        return FailureEventException(FailureEvent(env=env, error_name=name, event_type=HistoryEventType.TaskFailed,
                                                  event_details=EventDetails(taskFailedEventDetails=details)))

    def _from_error(self, env, ex):
        if isinstance(ex, ClientError):
            return self._failure(env, f"EMR.{ex.response['Error']['Code']}", ex.response["Error"].get("Message", "")).failure_event
        return super()._from_error(env=env, ex=ex)

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        emr, parameters = self._emr(resource_runtime_part, state_credentials), dict(normalised_parameters)
        action = self.resource.api_action.lower()
        if action == "createcluster":
            response = emr.run_job_flow(**parameters)
            result = {"ClusterId": response["JobFlowId"], "ClusterArn": response.get("ClusterArn")}
        elif action == "addstep":
            response = emr.add_job_flow_steps(JobFlowId=parameters["ClusterId"], Steps=[parameters["Step"]])
            result = {"ClusterId": parameters["ClusterId"], "StepId": response["StepIds"][0]}
        else:
            emr.terminate_job_flows(JobFlowIds=[parameters["ClusterId"]])
            result = {"ClusterId": parameters["ClusterId"]}
        env.stack.append(result)

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> Callable[[], Any]:
        emr, submitted = self._emr(resource_runtime_part, state_credentials), env.stack.pop()
        action, cluster_id = self.resource.api_action.lower(), submitted["ClusterId"]

        def resolve():
            if action == "addstep":
                step = emr.describe_step(ClusterId=cluster_id, StepId=submitted["StepId"])["Step"]
                if step["Status"]["State"] == "COMPLETED":
                    return {"Step": jsonable(step)}
                if step["Status"]["State"] in FAILED_STEP_STATES:
                    raise self._failure(env, "States.TaskFailed", to_json_str({"Step": jsonable(step)}))
                return None
            cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
            state = cluster["Status"]["State"]
            if action == "createcluster":
                if state in ("WAITING", "RUNNING"):
                    return {"ClusterId": cluster_id, "ClusterArn": submitted.get("ClusterArn"), "Cluster": jsonable(cluster)}
                if state in GONE_CLUSTER_STATES:
                    raise self._failure(env, "States.TaskFailed", to_json_str({"Cluster": jsonable(cluster)}))
                return None
            return {"ClusterId": cluster_id} if state in ("TERMINATED", "TERMINATED_WITH_ERRORS") else None

        return resolve


def install() -> None:
    """Routes the `elasticmapreduce` service of the interpreter to EmrIntegration."""
    original = state_task_service_factory.state_task_service_for
    if getattr(original, "fruits_emr", False):
        return

    def service_for(service_name: str):
        return EmrIntegration() if service_name == "elasticmapreduce" else original(service_name)

    service_for.fruits_emr = True
    state_task_service_factory.state_task_service_for = service_for
    state_task_factory.state_task_service_for = service_for
    moto_emr_models.Step.status = property(with_failure_details(moto_emr_models.Step.status.fget))


def with_failure_details(status):
    def status_of(step) -> dict:
        result = status(step)
        if getattr(step, "failure_details", None):
            result["FailureDetails"] = step.failure_details
        return result
    return status_of
