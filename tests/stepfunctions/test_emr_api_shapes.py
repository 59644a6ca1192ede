"""compliance/emr_api_shapes.py: the EMR requests we send fit botocore's EMR request model (the
rendered definition's EMR Task states, `fruits demo-start`'s RunJobFlow), and each kind of
mistake the check exists for is caught, planted in copies (never in the project's files).
The last tests run it as the compliance scan does, in .venv-compliance."""
from __future__ import annotations

import copy
import json
import subprocess

import pytest

from compliance.emr_api_shapes import check_definition, check_request, emr_api_shape_results, emr_tasks
from fruits.cloud.demo_cluster import ClusterSettings, build_run_job_flow
from fruits.cloud.execution_input import build_execution_input
from fruits.cloud.platform import Platform
from fruits.layout import DEFAULT_PREFIXES as PREFIXES
from tests.conftest import PROJECT_ROOT
from tests.support.render_definition import TEST_SETTINGS, render_test_definition

COMPLIANCE_PYTHON = PROJECT_ROOT / ".venv-compliance" / "bin" / "python"
VALIDATOR = PROJECT_ROOT / "compliance" / "emr_api_shapes.py"
EMR_TASKS = {"Create EMR cluster", "Check the cluster", "Extract features", "Reduce dimensions", "Terminate cluster",
             "Terminate cluster after failure"}
CREATE = "Create EMR cluster"
BUCKET = "fruits-123456789012-eu-west-3"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    return json.loads(render_test_definition(tmp_path_factory.mktemp("definition")))


def demo_request(core_nodes: int = 0) -> dict:
    platform = Platform(region="eu-west-3", bucket=BUCKET, kms_key_arn="arn:aws:kms:eu-west-3:123456789012:key/k",
                        state_machine_arn="arn:aws:states:eu-west-3:123456789012:stateMachine:fruits-pipeline",
                        prefixes=dict(PREFIXES))
    settings = ClusterSettings(release_label="emr-7.13.0", service_role=TEST_SETTINGS["emr_service_role"],
                               instance_profile=TEST_SETTINGS["emr_instance_profile"],
                               security_configuration=TEST_SETTINGS["security_configuration"],
                               subnet_id=TEST_SETTINGS["subnet_id"], log_uri=TEST_SETTINGS["log_uri"])
    uris = build_execution_input(bucket=BUCKET, region="eu-west-3", run_id="notebook", artifacts_prefix="artifacts/0123456789ab/",
                                 weights_key="artifacts/0123456789ab/weights.h5")
    return build_run_job_flow(platform, settings, uris, idle_minutes=10, core_nodes=core_nodes)


def create(definition: dict) -> dict:
    return definition["States"][CREATE]["Parameters"]


def fleet(definition: dict, fleet_type: str) -> tuple[int, dict]:
    fleets = definition["States"][CREATE]["Parameters"]["Instances"]["InstanceFleets"]
    return next((index, f) for index, f in enumerate(fleets) if f["InstanceFleetType"] == fleet_type)


def test_every_emr_task_of_the_rendered_definition_fits(rendered):
    assert {name for name, _ in emr_tasks(rendered)} == EMR_TASKS  # so there was something to check
    assert check_definition(rendered) == []


@pytest.mark.parametrize("core_nodes", [0, 1])
def test_the_demo_start_request_fits(core_nodes):
    request = demo_request(core_nodes)
    assert len(request["Instances"]["InstanceGroups"]) == 1 + core_nodes
    assert check_request(request, "RunJobFlow", "fruits demo-start") == []


def test_any_valid_run_job_flow_member_is_accepted(rendered):
    """The definition will grow (LogEncryptionKmsKeyId, ...): members of RunJobFlow pass as they are."""
    grown = copy.deepcopy(rendered)
    parameters = create(grown)
    parameters.update({"LogEncryptionKmsKeyId": "arn:aws:kms:eu-west-3:123456789012:key/k", "StepConcurrencyLevel": 2,
                       "ScaleDownBehavior": "TERMINATE_AT_TASK_COMPLETION", "StepExecutionRoleArn.$": "$.role"})
    del parameters["Instances"]["Ec2SubnetIds"]
    parameters["Instances"]["Ec2SubnetIds.$"] = "States.Array($.subnet)"
    assert check_definition(grown) == []


def hadoop_jar_step(definition: dict) -> dict:
    return definition["States"]["Extract features"]["Parameters"]["Step"]["HadoopJarStep"]


def misspell(definition):
    create(definition)["ReleaseLable"] = create(definition).pop("ReleaseLabel")
    return [f"{CREATE}: ReleaseLable: 'ReleaseLable' is not a member of RunJobFlowInput, "
            f"did you mean 'ReleaseLabel'?"]


def wrong_case(definition):
    create(definition)["releaseLabel"] = create(definition).pop("ReleaseLabel")
    return [f"{CREATE}: releaseLabel: 'releaseLabel' is not a member of RunJobFlowInput, "
            f"did you mean 'ReleaseLabel'?"]


def wrong_enum(definition):
    index, core = fleet(definition, "CORE")
    core["LaunchSpecifications"]["SpotSpecification"]["TimeoutAction"] = "SWITCH_TO_ONDEMAND"
    return [f"{CREATE}: Instances.InstanceFleets[{index}].LaunchSpecifications.SpotSpecification.TimeoutAction: "
            f"'SWITCH_TO_ONDEMAND' is not one of ['SWITCH_TO_ON_DEMAND', 'TERMINATE_CLUSTER']"]


def misspelt_enum(definition):
    index, core = fleet(definition, "CORE")
    core["LaunchSpecifications"]["SpotSpecification"]["AllocationStrategy"] = "capacity-optimised"
    return [f"{CREATE}: Instances.InstanceFleets[{index}].LaunchSpecifications.SpotSpecification.AllocationStrategy: "
            f"'capacity-optimised' is not one of ['capacity-optimized', 'price-capacity-optimized', 'lowest-price', "
            f"'diversified', 'capacity-optimized-prioritized']"]


def missing_required(definition):
    index, primary = fleet(definition, "MASTER")
    del primary["InstanceFleetType"]
    return [f"{CREATE}: Instances.InstanceFleets[{index}]: missing required member 'InstanceFleetType' of InstanceFleetConfig"]


def list_for_structure(definition):
    index, core = fleet(definition, "CORE")
    specification = core["LaunchSpecifications"]["SpotSpecification"]
    core["LaunchSpecifications"]["SpotSpecification"] = [specification]
    return [f"{CREATE}: Instances.InstanceFleets[{index}].LaunchSpecifications.SpotSpecification: expected object "
            f"(SpotProvisioningSpecification), got list {json.dumps([specification])[:57]}..."]


def structure_for_list(definition):
    create(definition)["Applications"] = {"Name": "Spark"}
    return [f'{CREATE}: Applications: expected list (ApplicationList), got object {{"Name": "Spark"}}']


def string_for_integer(definition):
    index, primary = fleet(definition, "MASTER")
    primary["TargetOnDemandCapacity"] = "1"
    return [f'{CREATE}: Instances.InstanceFleets[{index}].TargetOnDemandCapacity: expected integer, got string "1"']


def string_for_boolean(definition):
    create(definition)["VisibleToAllUsers"] = "true"
    return [f'{CREATE}: VisibleToAllUsers: expected boolean, got string "true"']


def unknown_member_under_a_path_key(definition):
    hadoop_jar_step(definition)["Arguments.$"] = hadoop_jar_step(definition).pop("Args.$")
    return ["Extract features: Step.HadoopJarStep.Arguments.$: 'Arguments' is not a member of HadoopJarStepConfig; "
            "its members: Properties, Jar, MainClass, Args"]


def intrinsic_of_the_wrong_kind(definition):
    hadoop_jar_step(definition)["Args.$"] = "States.Format('spark-submit {}', $.extract_job_uri)"
    return ["Extract features: Step.HadoopJarStep.Args.$: States.Format(...) gives a string, expected list (XmlStringList)"]


def emr_names_in_add_step(definition):
    parameters = definition["States"]["Reduce dimensions"]["Parameters"]
    parameters["JobFlowId.$"] = parameters.pop("ClusterId.$")
    parameters["Steps"] = [parameters.pop("Step")]
    return ["Reduce dimensions: JobFlowId.$: 'JobFlowId' is not a member of AddJobFlowStepsInput (as Step Functions' addStep); "
            "its members: ClusterId, Step, ExecutionRoleArn",
            "Reduce dimensions: Steps: 'Steps' is not a member of AddJobFlowStepsInput (as Step Functions' addStep), did you mean 'Step'?",
            "Reduce dimensions: (top level): missing required member 'ClusterId' of AddJobFlowStepsInput (as Step Functions' addStep)",
            "Reduce dimensions: (top level): missing required member 'Step' of AddJobFlowStepsInput (as Step Functions' addStep)"]


def emr_names_in_terminate(definition):
    parameters = definition["States"]["Terminate cluster"]["Parameters"]
    parameters["JobFlowIds.$"] = "States.Array($.cluster.ClusterId)"
    del parameters["ClusterId.$"]
    return ["Terminate cluster: JobFlowIds.$: 'JobFlowIds' is not a member of TerminateJobFlowsInput (as Step Functions' "
            "terminateCluster); its members: ClusterId",
            "Terminate cluster: (top level): missing required member 'ClusterId' of TerminateJobFlowsInput (as Step Functions' "
            "terminateCluster)"]


def steps_in_create_cluster(definition):
    """Through the optimized integration (the definition before this one): AWS refuses Steps."""
    definition["States"][CREATE]["Resource"] = "arn:aws:states:::elasticmapreduce:createCluster.sync"
    create(definition)["Steps"] = []
    return [f"{CREATE}: Steps: Step Functions' createCluster does not allow Steps (use addStep)"]


def cluster_not_kept_alive(definition):
    create(definition)["Instances"]["KeepJobFlowAliveWhenNoSteps"] = False
    return [f"{CREATE}: Instances.KeepJobFlowAliveWhenNoSteps: a cluster created without Steps ends once started unless it is true"]


def cluster_not_kept_alive_by_create_cluster(definition):
    definition["States"][CREATE]["Resource"] = "arn:aws:states:::elasticmapreduce:createCluster"
    create(definition)["Instances"]["KeepJobFlowAliveWhenNoSteps"] = False
    return [f"{CREATE}: Instances.KeepJobFlowAliveWhenNoSteps: Step Functions' createCluster requires it, set to true"]


def describe_cluster_by_its_job_flow_id(definition):
    parameters = definition["States"]["Check the cluster"]["Parameters"]
    parameters["JobFlowId.$"] = parameters.pop("ClusterId.$")
    return ["Check the cluster: JobFlowId.$: 'JobFlowId' is not a member of DescribeClusterInput; its members: ClusterId",
            "Check the cluster: (top level): missing required member 'ClusterId' of DescribeClusterInput"]


@pytest.mark.parametrize("plant", [
    misspell, wrong_case, wrong_enum, misspelt_enum, missing_required, list_for_structure, structure_for_list,
    string_for_integer, string_for_boolean, unknown_member_under_a_path_key, intrinsic_of_the_wrong_kind,
    emr_names_in_add_step, emr_names_in_terminate, steps_in_create_cluster, cluster_not_kept_alive,
    cluster_not_kept_alive_by_create_cluster, describe_cluster_by_its_job_flow_id,
], ids=lambda plant: plant.__name__)
def test_a_planted_mistake_in_the_definition_is_reported(rendered, plant):
    broken = copy.deepcopy(rendered)
    expected = plant(broken)
    assert check_definition(broken) == expected
    assert check_definition(rendered) == []  # the copy, not the original, was broken


def test_the_aws_sdk_integration_takes_the_api_names_and_an_unmapped_api_is_reported():
    state = {"Type": "Task", "End": True, "Resource": "arn:aws:states:::aws-sdk:emr:addJobFlowSteps",
             "Parameters": {"JobFlowId.$": "$.id", "Steps": [{"Name": "s", "HadoopJarStep": {"Jar": "command-runner.jar"}}]}}
    unmapped = {"Type": "Task", "End": True, "Resource": "arn:aws:states:::elasticmapreduce:modifyInstanceFleetByName",
                "Parameters": {"ClusterId.$": "$.id", "InstanceFleetName": "Core", "InstanceFleet": {"TargetSpotCapacity": 2}}}
    assert check_definition({"StartAt": "Add", "States": {"Add": state}}) == []
    state["Parameters"]["ClusterId.$"] = state["Parameters"].pop("JobFlowId.$")
    nested = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Add", "States": {"Add": state}}, {"StartAt": "Scale", "States": {"Scale": unmapped}}]}}}
    assert check_definition(nested) == [
        "Add: ClusterId.$: 'ClusterId' is not a member of AddJobFlowStepsInput; its members: JobFlowId, Steps, ExecutionRoleArn",
        "Add: (top level): missing required member 'JobFlowId' of AddJobFlowStepsInput",
        "Scale: Resource: elasticmapreduce:modifyInstanceFleetByName is not mapped in compliance/emr_api_shapes.py "
        "(STEP_FUNCTIONS_APIS), so its Parameters cannot be checked"]


@pytest.mark.parametrize("plant, expected", [
    (lambda r: r.update(ReleaseLable=r.pop("ReleaseLabel")),
     ["fruits demo-start: ReleaseLable: 'ReleaseLable' is not a member of RunJobFlowInput, did you mean 'ReleaseLabel'?"]),
    (lambda r: r.update({"Name.$": r.pop("Name")}),  # boto3 knows nothing of ASL
     ["fruits demo-start: Name.$: 'Name.$' is not a member of RunJobFlowInput, did you mean 'Name'?",
      "fruits demo-start: (top level): missing required member 'Name' of RunJobFlowInput"]),
    (lambda r: r["Instances"]["InstanceGroups"][0].update(Market="SPOTTY"),
     ["fruits demo-start: Instances.InstanceGroups[0].Market: 'SPOTTY' is not one of ['ON_DEMAND', 'SPOT']"]),
    (lambda r: r["Instances"]["InstanceGroups"][0].update(InstanceCount="1"),
     ['fruits demo-start: Instances.InstanceGroups[0].InstanceCount: expected integer, got string "1"']),
    (lambda r: r.update(Tags={"fruits:demo": "true"}),
     ['fruits demo-start: Tags: expected list (TagList), got object {"fruits:demo": "true"}']),
], ids=["misspelt-member", "asl-key-in-boto3", "wrong-enum", "wrong-type", "wrong-nesting"])
def test_a_planted_mistake_in_the_demo_request_is_reported(plant, expected):
    request = demo_request()
    plant(request)
    assert check_request(request, "RunJobFlow", "fruits demo-start") == expected


def test_without_the_project_venv_the_scan_rows_fail_rather_than_pass(tmp_path):
    rows = emr_api_shape_results(tmp_path)
    assert rows and not any(row["passed"] for row in rows)
    assert all("no project venv" in row["why"] for row in rows)


def test_the_compliance_venv_runs_it_as_the_scan_does(rendered, tmp_path):
    """In .venv-compliance (checkov's botocore): the project's render and demo-start pass, a broken copy fails."""
    assert COMPLIANCE_PYTHON.exists(), "run make .venv-compliance/.installed first"
    passed = subprocess.run([str(COMPLIANCE_PYTHON), str(VALIDATOR)], capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("PASS") == len(EMR_TASKS) + 1 and "fruits demo-start --dry-run: RunJobFlow" in passed.stdout

    broken = copy.deepcopy(rendered)
    expected = wrong_enum(broken)
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    failed = subprocess.run([str(COMPLIANCE_PYTHON), str(VALIDATOR), "--definition", str(tmp_path / "broken.json")],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and expected[0].split(": ", 1)[1] in failed.stdout, failed.stdout + failed.stderr
