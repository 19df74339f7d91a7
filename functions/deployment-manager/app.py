"""deployment-manager: turns a validated job into a deployed stack and a configured, tested agent.

Operations (phase ``deployment``); every one stores what it did, success or failure:

- ``/generate-cloudformation`` refuses (409) unless validation passed, then assembles a deployable
  template: the architecture's template merged with the generated Lambda handler (inline ``ZipFile``
  when it is one small file, else a zip package stored next to the template), its IAM role, a log
  group with retention and the permission for Bedrock to invoke it. Stores
  ``cloudformation_template.json`` (and ``lambda_package.zip``).
- ``/deploy-stack`` really creates (or updates) the CloudFormation stack, waits for it, and answers
  its final status and outputs; a failed stack is an error with CloudFormation's reasons. Stores
  ``deployment.json``.
- ``/configure-agent`` really creates the Bedrock agent, its action groups, prepares it and creates an
  alias. Stores ``agent_configuration.json``.
- ``/test-deployment`` really invokes the agent with each test input. Stores ``deployment_test.json``;
  ``passed`` is true only if every call returned.

**Outcome policy.** A request that cannot be carried out is refused before any AWS call (4xx, an
``error`` record). Where the target endpoint lacks an API (the embedded emulator has no agent action
groups, aliases or agent runtime), the operation ends as HTTP 501 naming the API and the endpoint,
with the resources it had created deleted again and listed; it never pretends to have succeeded. A
deployed agent that answers a test input with an error is a *test* that failed: HTTP 200 with
``passed: false`` and the error per input, since the test itself ran.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from autoninja.action import PersistedAction, current_action
from autoninja.contract import JobRequest, JsonObject
from autoninja.conversion import extract_code, extract_structured, parse_json_value
from autoninja.deployment import (
    LAMBDA_FUNCTION_TYPES,
    ActionGroupSpec,
    AgentInvocationError,
    AgentSpec,
    DeploymentRefusedError,
    DeploymentServices,
    DeploymentTimeoutError,
    ServiceUnavailableError,
    Trail,
    log_group_of,
    references,
    resources_of,
    template_in,
)
from autoninja.documents import (
    AGENT_CONFIG_ARTIFACT,
    ARCHITECTURE_ARTIFACT,
    BEDROCK_NAME_PATTERN,
    LAMBDA_CODE_ARTIFACT,
    OPENAPI_SCHEMA_ARTIFACT,
    REQUIREMENTS_ARTIFACT,
    TEMPLATE_ARTIFACT,
    AgentConfig,
    ArtifactRef,
    CloudFormationTemplate,
    OpenApiDocument,
    OptionalJsonObject,
    OptionalText,
    convert,
    given_or_stored,
    operation,
    parse_input,
)
from autoninja.errors import ArtifactNotFoundError, ConversionError, InvalidInputError
from autoninja.models import Agent, Phase

app = BedrockAgentResolver(enable_validation=True)

#: CloudFormation's limit on inline ``ZipFile`` code.
MAX_INLINE_CODE_CHARS = 4096
#: Templates up to this size are returned in the response too (Bedrock caps a response at 25 KB).
MAX_TEMPLATE_IN_RESPONSE_BYTES = 16_000
LOG_RETENTION_DAYS = 30
DEFAULT_RUNTIME = "python3.12"
DEFAULT_TEST_INPUT = "Hello! Who are you, and what can you do for me?"
MAX_TEST_INPUTS = 10
PASSED_WORDS = frozenset({"passed", "pass", "success", "succeeded", "ok", "true", "valid"})
FAILED_WORDS = frozenset({"failed", "fail", "failure", "error", "false", "invalid"})
VALIDATION_REPORTS = ("code_validation.json", "security_scan.json", "compliance_report.json")
_AGENT_NAME_RE = re.compile(BEDROCK_NAME_PATTERN)
_LAMBDA_ARN_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$"
)


@functools.cache
def services() -> DeploymentServices:
    """The AWS adapters, built on first use from the function's settings (tests replace this)."""
    return DeploymentServices.from_settings(lambda_handler.runtime.settings)


# -- the contract --------------------------------------------------------------------------------


class GenerateCloudFormationRequest(JobRequest):
    requirements: OptionalJsonObject = Field(default=None, description="JSON requirements; else stored")
    code: OptionalText = Field(
        default=None, description="The Lambda code (text or a JSON map file name -> code); else stored"
    )
    architecture: OptionalJsonObject = Field(
        default=None, description="JSON architecture (may hold cloudformation_template); else stored"
    )
    validation_status: str = Field(
        min_length=1,
        description='"passed" or "failed", or JSON such as {"passed": true}; a failed validation is refused',
    )


class GenerateCloudFormationResponse(BaseModel):
    template_uri: str
    code_delivery: Literal["inline", "s3"]
    function: str = Field(description="Logical id of the function that runs the generated code")
    handler: str
    package_uri: str | None = None
    resources: dict[str, str] = Field(description="Logical id -> resource type")
    added_resources: list[str]
    unresolved_environment: list[str] = Field(
        description="Environment variables the code reads that the template does not set"
    )
    sources: dict[str, str] = Field(description="Where each input came from: request, stored or absent")
    validation: dict[str, Any]
    template: dict[str, Any] | None = Field(
        default=None, description="The template, when small enough; else pass template_uri to /deploy-stack"
    )


class DeployStackRequest(JobRequest):
    cloudformation_template: str = Field(
        min_length=1,
        description="The template as JSON or YAML text, or the s3:// template_uri that "
        "/generate-cloudformation returned",
    )
    stack_name: str = Field(
        min_length=1, description="Stack name: a letter, then letters, digits and hyphens (max 128)"
    )
    parameters: OptionalJsonObject = Field(default=None, description="JSON object of template parameters")


class StackResourceModel(BaseModel):
    logical_id: str
    physical_id: str
    type: str
    status: str


class DeployStackResponse(BaseModel):
    stack_name: str
    stack_id: str
    operation: str = Field(description="create, update, or none when the stack already matched")
    status: str
    outputs: dict[str, str]
    resources: list[StackResourceModel]
    replaced_failed_stack: bool
    deployment_uri: str


class ConfigureAgentRequest(JobRequest):
    agent_config: JsonObject = Field(
        description="JSON agent configuration: agentName, foundationModel, instruction, optional "
        "description, idleSessionTTLInSeconds, agentResourceRoleArn, aliasName, actionGroups"
    )
    lambda_arns: JsonObject = Field(description="JSON object mapping action group name -> Lambda ARN")


class ConfigureAgentResponse(BaseModel):
    agent_id: str
    agent_arn: str
    agent_name: str
    agent_status: str
    action_groups: dict[str, str]
    alias_id: str
    alias_arn: str
    alias_name: str
    configuration_uri: str


class TestDeploymentRequest(JobRequest):
    agent_id: str = Field(pattern=r"^[0-9a-zA-Z]{1,100}$", description="The agent's id")
    alias_id: str = Field(pattern=r"^[0-9a-zA-Z]{1,100}$", description="The alias id, e.g. TSTALIASID")
    test_inputs: OptionalText = Field(
        default=None, description=f"JSON array of up to {MAX_TEST_INPUTS} user messages"
    )


class TestCallResult(BaseModel):
    input: str
    returned: bool
    output: str | None = None
    duration_seconds: float | None = None
    error_type: str | None = None
    error: str | None = None


class TestDeploymentResponse(BaseModel):
    passed: bool = Field(description="True only if every call returned an answer")
    session_id: str
    results: list[TestCallResult]
    report_uri: str


# -- operations ------------------------------------------------------------------------------------


@operation(
    app,
    "/generate-cloudformation",
    summary="Assemble the deployable CloudFormation template",
    operation_id="generateCloudFormation",
    description="Assemble the deployable CloudFormation template of the job: the architecture's "
    "template plus the generated Lambda handler, its IAM role, a log group with retention and the "
    "Bedrock invoke permission. Refused unless validation passed. Stores cloudformation_template.json.",
)
def generate_cloudformation(
    body: Annotated[GenerateCloudFormationRequest, Body()],
) -> GenerateCloudFormationResponse:
    validation = validation_verdict(body.validation_status)
    action = current_action()
    requirements, requirements_source = _optional(body.requirements, REQUIREMENTS_ARTIFACT)
    architecture, architecture_source = _optional(body.architecture, ARCHITECTURE_ARTIFACT)
    base, template_source = _base_template(body.architecture, architecture)
    files, code_source = _code(body.code)
    agent_config, agent_source = _optional(None, AGENT_CONFIG_ARTIFACT)
    assembled = assemble_template(
        base,
        files,
        job_name=action.job_name,
        description=_description(requirements, agent_config),
    )
    package_uri = None
    if assembled.package is not None:
        stored_package = action.store("lambda_package.zip", assembled.package)
        package_uri = stored_package.uri
        assembled.template["Parameters"]["LambdaCodeBucket"]["Default"] = action.artifacts.objects.bucket
        assembled.template["Parameters"]["LambdaCodeKey"]["Default"] = stored_package.key
    stored = action.store("cloudformation_template.json", assembled.template)
    size = len(json.dumps(assembled.template).encode())
    return GenerateCloudFormationResponse(
        template_uri=stored.uri,
        code_delivery="s3" if assembled.package is not None else "inline",
        function=assembled.function,
        handler=assembled.handler,
        package_uri=package_uri,
        resources={k: str(v.get("Type")) for k, v in resources_of(assembled.template).items()},
        added_resources=assembled.added,
        unresolved_environment=assembled.unresolved_environment,
        sources={
            "requirements": requirements_source,
            "architecture": architecture_source,
            "template": template_source,
            "code": code_source,
            "agent_config": agent_source,
        },
        validation=validation,
        template=assembled.template if size <= MAX_TEMPLATE_IN_RESPONSE_BYTES else None,
    )


@operation(
    app,
    "/deploy-stack",
    summary="Deploy the CloudFormation stack",
    operation_id="deployStack",
    description="Create the CloudFormation stack (or update it if it exists), wait for it, and return "
    "its final status and outputs; a failed stack is an error with CloudFormation's reasons. "
    "Stores deployment.json.",
)
def deploy_stack(body: Annotated[DeployStackRequest, Body()]) -> DeployStackResponse:
    action = current_action()
    template = load_template(body.cloudformation_template)
    deployer = services().stacks
    stack_name = deployer.stack_name(body.stack_name)
    parameters = stack_parameters(body.parameters or {}, template)
    trail = Trail()
    with reported("deployment.json", trail, {"stack_name": stack_name}):
        deployment = deployer.deploy(
            stack_name,
            template,
            parameters,
            tags={"autoninja:job": action.job_name, "autoninja:agent": action.agent_name},
            trail=trail,
        )
    result = deployment.as_dict()
    result["stack_status"] = result.pop("status")
    stored = action.store("deployment.json", {"status": "deployed", **result, "trail": trail.as_dict()})
    return DeployStackResponse(
        **{k: v for k, v in deployment.as_dict().items() if k != "resources"},
        resources=[StackResourceModel(**vars(r)) for r in deployment.resources],
        deployment_uri=stored.uri,
    )


@operation(
    app,
    "/configure-agent",
    summary="Create and publish the Bedrock agent",
    operation_id="configureAgent",
    description="Create the Bedrock agent from agent_config, one action group per Lambda ARN (with the "
    "job's OpenAPI schema), prepare it and create an alias. Stores agent_configuration.json.",
)
def configure_agent(body: Annotated[ConfigureAgentRequest, Body()]) -> ConfigureAgentResponse:
    action = current_action()
    spec = agent_spec(body.agent_config, body.lambda_arns, job_name=action.job_name)
    trail = Trail()
    with reported("agent_configuration.json", trail, {"agent_name": spec.name}):
        configured = services().agents.configure(spec, trail=trail)
    stored = action.store(
        "agent_configuration.json",
        {"status": "configured", **configured.as_dict(), "trail": trail.as_dict()},
    )
    return ConfigureAgentResponse(**configured.as_dict(), configuration_uri=stored.uri)


@operation(
    app,
    "/test-deployment",
    summary="Test the deployed agent",
    operation_id="testDeployment",
    description="Invoke the deployed agent with each test input (one session) and record every "
    "answer; passed only if every call returned. Stores deployment_test.json.",
)
def test_deployment(body: Annotated[TestDeploymentRequest, Body()]) -> TestDeploymentResponse:
    action = current_action()
    inputs = _test_messages(body.test_inputs)
    session_id = f"{action.job_name}-deployment-test"
    results: list[TestCallResult] = []
    progress = {"agent_id": body.agent_id, "alias_id": body.alias_id, "session_id": session_id}
    with reported("deployment_test.json", Trail(), progress, results=results):
        for text in inputs:
            results.append(_ask(body.agent_id, body.alias_id, session_id, text))
    passed = all(result.returned for result in results)
    report = {**progress, "passed": passed, "results": [r.model_dump() for r in results]}
    stored = action.store("deployment_test.json", report)
    return TestDeploymentResponse(
        passed=passed, session_id=session_id, results=results, report_uri=stored.uri
    )


lambda_handler = PersistedAction(app, agent_name=Agent.DEPLOYMENT_MANAGER)


# -- plumbing ---------------------------------------------------------------------------------------


@contextmanager
def reported(
    filename: str, trail: Trail, detail: Mapping[str, Any], *, results: list[TestCallResult] | None = None
) -> Iterator[None]:
    """On any failure, store what was done (the trail, partial results) as the artifact, then re-raise."""
    try:
        yield
    except Exception as exc:
        report: dict[str, Any] = {
            "status": "failed",
            "error_type": type(exc).__name__,
            "error": str(exc),
            **detail,
            "trail": trail.as_dict(),
        }
        if results is not None:
            report["results"] = [r.model_dump() for r in results]
        current_action().store(filename, report)
        raise


def _ask(agent_id: str, alias_id: str, session_id: str, text: str) -> TestCallResult:
    """One test call; an agent that answers with an error is a failed test, not a failed operation."""
    try:
        reply = services().tester.ask(agent_id, alias_id, session_id, text)
    except (AgentInvocationError, ServiceUnavailableError, DeploymentTimeoutError) as exc:
        return TestCallResult(input=text, returned=False, error_type=type(exc).__name__, error=str(exc))
    return TestCallResult(
        input=text, returned=True, output=reply.output, duration_seconds=reply.duration_seconds
    )


def _stored_json(phase: Phase, agent: str, filename: str) -> Any:
    try:
        return current_action().read_json(phase, agent, filename)
    except ArtifactNotFoundError:
        return None


def _optional(given: dict[str, Any] | None, ref: ArtifactRef) -> tuple[dict[str, Any] | None, str]:
    """An optional input: the request's, else the job's stored one, else none ("absent")."""
    try:
        sourced = given_or_stored(current_action(), given, ref)
    except ArtifactNotFoundError:
        return None, "absent"
    return sourced.document, sourced.source


def _verdict(value: Any) -> bool | None:
    """passed (True), failed (False) or unknown (None) for a validation status value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in PASSED_WORDS else False if word in FAILED_WORDS else None
    if isinstance(value, list):
        verdicts = [_verdict(item) for item in value]
        return None if not verdicts or None in verdicts else all(verdicts)
    if isinstance(value, Mapping):
        for key in ("passed", "status", "validation_status", "overall", "result"):
            if key in value:
                return _verdict(value[key])
        return _verdict(list(value.values())) if value else None
    return None


def validation_verdict(raw: str) -> dict[str, Any]:
    """The validation outcome: refused (409) if the status or a stored validation report says failed."""
    text = raw.strip()
    verdict = _verdict(text)
    if verdict is None:
        try:
            verdict = _verdict(parse_json_value("validation_status", text))
        except InvalidInputError:
            verdict = None
    if verdict is None:
        raise InvalidInputError(
            'validation_status must be "passed" or "failed", or JSON such as {"passed": true}; '
            f"got {text[:80]!r}"
        )
    if not verdict:
        raise DeploymentRefusedError(
            "validation_status says the job failed validation: no deployment template is generated for code "
            "that did not pass; fix the findings and run the quality validator again"
        )
    reports: dict[str, bool] = {}
    for filename in VALIDATION_REPORTS:
        report = _stored_json(Phase.VALIDATION, Agent.QUALITY_VALIDATOR, filename)
        if isinstance(report, Mapping) and isinstance(report.get("passed"), bool):
            reports[filename] = report["passed"]
    failed = sorted(name for name, passed in reports.items() if not passed)
    if failed:
        raise DeploymentRefusedError(
            f"validation_status says passed, but this job's stored validation report(s) {', '.join(failed)} "
            "say passed=false; fix the findings and run the quality validator again"
        )
    return {"status": "passed", "stored_reports": reports}


def _base_template(
    given_architecture: Mapping[str, Any] | None, architecture: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, str]:
    """The template to build on: in the request's architecture, else the stored template.json, else one
    in the stored architecture.json; none if there is none (a template is then built from scratch)."""
    if given_architecture is not None:
        template = template_in(given_architecture)
        if template is not None:
            return template, "request"
    stored, source = _optional(None, TEMPLATE_ARTIFACT)
    if stored is not None:
        return stored, source
    template = template_in(architecture) if architecture is not None else None
    return (
        (template, ARCHITECTURE_ARTIFACT.uri(current_action())) if template is not None else (None, "absent")
    )


def _code(given: str | None) -> tuple[dict[str, str], str]:
    if given is not None:
        code = extract_code(given, language="python")
        return (code if isinstance(code, dict) else {"index.py": code}), "request"
    sourced = given_or_stored(current_action(), None, LAMBDA_CODE_ARTIFACT)
    files = _file_map(sourced.document)
    if files is None:
        raise ConversionError(f"the stored Lambda code at {sourced.source} is not a file map")
    return files, sourced.source


def _file_map(stored: Any) -> dict[str, str] | None:
    if isinstance(stored, str):
        return {"index.py": stored}
    if isinstance(stored, Mapping):
        if isinstance(stored.get("files"), Mapping):
            return _file_map(stored["files"])
        if isinstance(stored.get("code"), str):
            return {str(stored.get("filename") or "index.py"): stored["code"]}
        if stored and all(isinstance(v, str) for v in stored.values()):
            return {str(k): v for k, v in stored.items()}
    return None


def _description(requirements: Mapping[str, Any] | None, agent_config: Mapping[str, Any] | None) -> str:
    for source, keys in (
        (agent_config, ("description",)),
        (requirements, ("summary", "goal", "description")),
    ):
        for key in keys:
            value = (source or {}).get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:1000]
    return "Bedrock agent action group generated by AutoNinja"


# -- the template ------------------------------------------------------------------------------------


@dataclass
class AssembledTemplate:
    """A deployable template, the function that runs the code, and the code package if not inline."""

    template: dict[str, Any]
    function: str
    handler: str
    package: bytes | None = None
    added: list[str] = field(default_factory=list)
    unresolved_environment: list[str] = field(default_factory=list)


def _handler_of(files: Mapping[str, str]) -> tuple[str, str]:
    """The file and function name of the Lambda handler in the code (lambda_handler or handler)."""
    for name in sorted(files, key=lambda n: (not n.endswith(".py"), n)):
        try:
            tree = ast.parse(files[name])
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in ("lambda_handler", "handler"):
                return name, node.name
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in ("lambda_handler", "handler"):
                        return name, target.id
    raise ConversionError(
        "code: no module-level lambda_handler or handler found in the code (files: "
        f"{', '.join(sorted(files))}); validate the code before generating the template"
    )


def _environment_names(files: Mapping[str, str]) -> set[str]:
    """The environment variables the code reads (os.environ[...], os.environ.get(...), os.getenv(...))."""
    names: set[str] = set()
    for source in files.values():
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            key: ast.expr | None = None
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
            elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
                key = node.args[0] if node.args else None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def _package(files: Mapping[str, str]) -> bytes:
    """A deterministic zip of the code files (same code, same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _role(template: Mapping[str, Any]) -> dict[str, Any]:
    """A least-privilege execution role: the template's tables and keys (logs: see :func:`_logs_policy`)."""
    statements: list[dict[str, Any]] = []
    tables = sorted(resources_of(template, "AWS::DynamoDB::Table"))
    if tables:
        table_arns = [{"Fn::GetAtt": [table_id, "Arn"]} for table_id in tables]
        index_arns = [{"Fn::Sub": f"${{{table_id}.Arn}}/index/*"} for table_id in tables]
        statements.append(
            {
                "Sid": "Tables",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                ],
                "Resource": table_arns + index_arns,
            }
        )
    keys = sorted(resources_of(template, "AWS::KMS::Key"))
    if keys:
        statements.append(
            {
                "Sid": "Keys",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [{"Fn::GetAtt": [key_id, "Arn"]} for key_id in keys],
            }
        )
    role: dict[str, Any] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    if statements:
        role["Properties"]["Policies"] = [
            {
                "PolicyName": "data-access",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ]
    return role


def _logs_policy(role_id: str, log_group_id: str) -> dict[str, Any]:
    """Write access to the function's own log group, as a separate policy.

    Separate, because the group's name may be ``/aws/lambda/${Function}``: a role naming the group
    inline would depend on the function that depends on the role.
    """
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "logs",
            "Roles": [{"Ref": role_id}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OwnLogGroup",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
                    }
                ],
            },
        },
    }


def _environment(function: dict[str, Any], needed: set[str], template: Mapping[str, Any]) -> list[str]:
    """Set the variables the code reads that the template can answer; the names it cannot."""
    variables = function.setdefault("Environment", {}).setdefault("Variables", {})
    tables = sorted(resources_of(template, "AWS::DynamoDB::Table"))
    unresolved = []
    for name in sorted(needed - set(variables)):
        if "TABLE" in name.upper() and len(tables) == 1:
            variables[name] = {"Ref": tables[0]}
        elif name in ("LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"):
            variables[name] = "INFO"
        else:
            unresolved.append(name)
    if not variables:
        del function["Environment"]
    return unresolved


def _place_code(
    template: dict[str, Any], function_id: str, files: Mapping[str, str], handler: tuple[str, str]
) -> bytes | None:
    """Put the code in the function: inline if one small file, else a package the template points to."""
    properties = template["Resources"][function_id].setdefault("Properties", {})
    handler_file, handler_function = handler
    if len(files) == 1 and len(files[handler_file]) <= MAX_INLINE_CODE_CHARS:
        properties["Code"] = {"ZipFile": files[handler_file]}
        properties["Handler"] = f"index.{handler_function}"
        return None
    package = _package(files)
    module = handler_file.removesuffix(".py").replace("/", ".")
    properties["Handler"] = f"{module}.{handler_function}"
    properties["Code"] = {"S3Bucket": {"Ref": "LambdaCodeBucket"}, "S3Key": {"Ref": "LambdaCodeKey"}}
    parameters = template.setdefault("Parameters", {})
    parameters["LambdaCodeBucket"] = {"Type": "String", "Description": "Bucket of the code package"}
    parameters["LambdaCodeKey"] = {"Type": "String", "Description": "Key of the code package (zip)"}
    template.setdefault("Metadata", {})["LambdaPackageSha256"] = hashlib.sha256(package).hexdigest()
    return package


def _ensure_log_group(template: dict[str, Any], function_id: str, added: list[str]) -> str:
    """The function's log group with retention: the template's own, or a new one."""
    existing = log_group_of(template, function_id)
    if existing is not None:
        return existing
    resources = template["Resources"]
    log_group_id = f"{function_id}LogGroup"
    own_name = resources[function_id]["Properties"].get("FunctionName")
    name = (
        {"Fn::Sub": ["/aws/lambda/${Name}", {"Name": own_name}]}
        if own_name is not None
        else {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"}
    )
    resources[log_group_id] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": LOG_RETENTION_DAYS},
    }
    if own_name is not None:  # the group does not depend on the function: create it first
        depends = {*_as_list(resources[function_id].get("DependsOn")), log_group_id}
        resources[function_id]["DependsOn"] = sorted(depends)
    added.append(log_group_id)
    return log_group_id


def _ensure_role(template: dict[str, Any], function_id: str, log_group_id: str, added: list[str]) -> None:
    properties = template["Resources"][function_id]["Properties"]
    if "Role" in properties:
        return
    role_id = f"{function_id}Role"
    template["Resources"][role_id] = _role(template)
    template["Resources"][f"{role_id}LogsPolicy"] = _logs_policy(role_id, log_group_id)
    properties["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}
    added += [role_id, f"{role_id}LogsPolicy"]


def _ensure_bedrock_permission(template: dict[str, Any], function_id: str, added: list[str]) -> None:
    for permission in resources_of(template, "AWS::Lambda::Permission").values():
        properties = permission.get("Properties") or {}
        if properties.get("Principal") == "bedrock.amazonaws.com" and function_id in references(
            properties.get("FunctionName")
        ):
            return
    permission_id = f"{function_id}BedrockPermission"
    template["Resources"][permission_id] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": function_id},
            "Principal": "bedrock.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:agent/*"
            },
        },
    }
    added.append(permission_id)


def assemble_template(
    base: Mapping[str, Any] | None, files: Mapping[str, str], *, job_name: str, description: str
) -> AssembledTemplate:
    """The base template merged with the function that runs ``files`` and what it needs to run.

    The base's first Lambda function gets the code (a new ``AgentActionFunction`` if it has none);
    a log group with retention, an execution role and the Bedrock invoke permission are added where
    the base lacks them. Every reference must resolve (:class:`ConversionError` otherwise).
    """
    template: dict[str, Any] = copy.deepcopy(dict(base)) if base else {}
    template.setdefault("AWSTemplateFormatVersion", "2010-09-09")
    template.setdefault("Description", description)
    resources: dict[str, Any] = template.setdefault("Resources", {})
    added: list[str] = []
    handler = _handler_of(files)
    function_id = next(iter(resources_of(template, *LAMBDA_FUNCTION_TYPES)), "AgentActionFunction")
    if function_id not in resources:
        resources[function_id] = {"Type": "AWS::Lambda::Function", "Properties": {}}
        added.append(function_id)
    properties = resources[function_id].setdefault("Properties", {})
    properties.setdefault("Description", description[:256])
    if not str(properties.get("Runtime", "")).startswith("python"):
        properties["Runtime"] = DEFAULT_RUNTIME
    properties.setdefault("Timeout", 30)
    properties.setdefault("MemorySize", 256)
    package = _place_code(template, function_id, files, handler)
    log_group_id = _ensure_log_group(template, function_id, added)
    _ensure_role(template, function_id, log_group_id, added)
    unresolved = _environment(properties, _environment_names(files), template)
    _ensure_bedrock_permission(template, function_id, added)
    outputs = template.setdefault("Outputs", {})
    if not any(function_id in references(output) for output in outputs.values()):
        outputs[f"{function_id}Arn"] = {
            "Description": "The action group's Lambda function",
            "Value": {"Fn::GetAtt": [function_id, "Arn"]},
        }
    template.setdefault("Metadata", {})["AutoNinja"] = {
        "job_name": job_name,
        "generated_by": "deployment-manager",
    }
    convert(CloudFormationTemplate, template, what="the assembled template")
    return AssembledTemplate(
        template=template,
        function=function_id,
        handler=str(properties["Handler"]),
        package=package,
        added=added,
        unresolved_environment=unresolved,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load_template(text: str) -> dict[str, Any]:
    """The template to deploy: JSON or YAML text (fenced or not), or an s3:// URI of a job artifact;
    validated (sections, resource types, every reference resolves) before CloudFormation sees it."""
    text = text.strip()
    source = "request"
    if text.startswith("s3://"):
        source, text = text, current_action().artifacts.get_uri(text).decode("utf-8")
    try:
        template = extract_structured(text, what="cloudformation_template")
    except ConversionError as exc:
        raise InvalidInputError(str(exc)) from exc
    parse_input(CloudFormationTemplate, template, what="cloudformation_template", source=source)
    return dict(template)


def _parameter_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ",".join(str(v) for v in value)
    raise InvalidInputError(f"parameters.{name} must be a string, number, boolean or list of them")


def stack_parameters(given: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, str]:
    """The stack's parameters as strings, checked against the template's declared parameters."""
    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidInputError(
            f"parameters {', '.join(unknown)} are not declared by the template "
            f"(it declares: {', '.join(sorted(declared)) or 'none'})"
        )
    missing = sorted(
        name for name, spec in declared.items() if name not in given and "Default" not in (spec or {})
    )
    if missing:
        raise InvalidInputError(f"parameters {', '.join(missing)} have no default; give them in `parameters`")
    return {name: _parameter_value(name, value) for name, value in given.items() if value is not None}


# -- the agent ----------------------------------------------------------------------------------------


def _extra(config: AgentConfig, *names: str) -> Any:
    """A key AgentConfig keeps as an extra (snake_case or camelCase), e.g. the agent's role ARN."""
    extras = config.model_extra or {}
    return next((extras[n] for n in names if extras.get(n) not in (None, "")), None)


def _inline_schema(reference: str | None, group: str) -> dict[str, Any] | None:
    """The schema written into agent_config itself, if the reference is one (not a file name)."""
    if not reference:
        return None
    try:
        value = extract_structured(reference, what=f"agent_config action group {group} api_schema")
    except ConversionError:
        return None
    return value if isinstance(value, dict) and "openapi" in value else None


def _group_schema(group: str, reference: str | None, stored: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The action group's OpenAPI schema: inline in agent_config, else the job's stored one; validated."""
    schema: Any = _inline_schema(reference, group)
    source = "agent_config"
    if schema is None:
        document = stored()
        schema = document if "openapi" in document else document.get(group)
        source = OPENAPI_SCHEMA_ARTIFACT.uri(current_action())
    if not isinstance(schema, dict):
        raise InvalidInputError(f"action group {group}: {source} holds no OpenAPI schema for it")
    parse_input(OpenApiDocument, schema, what=f"the OpenAPI schema of action group {group}", source=source)
    return schema


def agent_spec(raw_config: Mapping[str, Any], lambda_arns: Mapping[str, Any], *, job_name: str) -> AgentSpec:
    """The agent to create, checked completely before any AWS call (400 naming what is wrong)."""
    config = parse_input(AgentConfig, raw_config, what="agent_config", source="request")
    role = _extra(config, "agent_resource_role_arn", "agentResourceRoleArn") or services().agent_role_arn
    if not isinstance(role, str):
        raise InvalidInputError(
            "agent_config has no agent_resource_role_arn and AUTONINJA_AGENT_RESOURCE_ROLE_ARN is not set: "
            "the agent needs a role to run as"
        )
    if not lambda_arns:
        raise InvalidInputError("lambda_arns is empty: give at least one action group name -> Lambda ARN")
    configured = {group.name: group for group in config.action_groups}
    unmatched = sorted(set(configured) - set(lambda_arns))
    if unmatched:
        raise InvalidInputError(
            f"agent_config action group(s) {', '.join(unmatched)} have no ARN in lambda_arns"
        )

    @functools.cache
    def stored_schema() -> dict[str, Any]:
        return given_or_stored(current_action(), None, OPENAPI_SCHEMA_ARTIFACT).document

    groups = []
    for group, arn in lambda_arns.items():
        if not _AGENT_NAME_RE.match(str(group)):
            raise InvalidInputError(f"lambda_arns: action group name {group!r} is not valid for Bedrock")
        if not isinstance(arn, str) or not _LAMBDA_ARN_RE.match(arn):
            raise InvalidInputError(f"lambda_arns.{group}: {arn!r} is not a Lambda function ARN")
        entry = configured.get(str(group))
        groups.append(
            ActionGroupSpec(
                name=str(group),
                lambda_arn=arn,
                api_schema=_group_schema(str(group), entry.api_schema if entry else None, stored_schema),
                description=entry.description if entry else None,
            )
        )
    memory: dict[str, Any] | None = None
    if config.memory_configuration is not None:
        memory = {"enabledMemoryTypes": list(config.memory_configuration.enabled_memory_types)}
        if config.memory_configuration.storage_days is not None:
            memory["storageDays"] = config.memory_configuration.storage_days
    return AgentSpec(
        name=config.agent_name,
        foundation_model=config.foundation_model,
        instruction=config.instruction,
        role_arn=role,
        action_groups=tuple(groups),
        description=config.description,
        idle_session_ttl_seconds=config.idle_session_ttl_in_seconds,
        alias_name=str(_extra(config, "alias_name", "aliasName") or "live"),
        memory=memory,
        tags={"autoninja:job": job_name},
    )


def _test_messages(given: str | None) -> list[str]:
    """The messages to send: the given JSON array (1..10 non-empty strings) or one greeting."""
    inputs = parse_json_value("test_inputs", given, default=[DEFAULT_TEST_INPUT])
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        raise InvalidInputError(
            'test_inputs must be a JSON array of strings, e.g. ["Hi!", "What do you remember?"]'
        )
    if not 1 <= len(inputs) <= MAX_TEST_INPUTS:
        raise InvalidInputError(f"test_inputs must hold 1 to {MAX_TEST_INPUTS} messages; got {len(inputs)}")
    if any(not text.strip() for text in inputs):
        raise InvalidInputError("test_inputs must not hold empty messages")
    return inputs
