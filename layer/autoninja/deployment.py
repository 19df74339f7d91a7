"""Deploying what a job built: CloudFormation stacks and Bedrock agents, and test calls to them.

Three adapters, each over one AWS service, each with an injected boto3 client or one built lazily on
first use (never at import time; region and endpoint come from ``AWS_REGION`` / ``AWS_ENDPOINT_URL``):

- :class:`StackDeployer` creates or updates a CloudFormation stack and waits for it with the
  CloudFormation waiters, bounded by ``deploy_wait_seconds``. A failed stack is a
  :class:`DeploymentFailedError` carrying the failure reasons from the stack's events.
- :class:`AgentProvisioner` creates a Bedrock agent, its action groups (Lambda executors with an
  OpenAPI schema), prepares it and gives it an alias. If a step fails, everything it created is deleted
  again and the error message says what was created and what was removed.
- :class:`AgentTester` calls a deployed agent with InvokeAgent and reads its completion stream.

Every step an adapter takes is written to a :class:`Trail`, which the caller stores whether the
operation succeeded or not, so a half-done deployment is never silent.

**Targets without an API.** ``ClientError`` is translated by its error *code* and HTTP status, never
by message text. An endpoint that does not implement an operation answers without an AWS error code:

- moto server answers HTTP 500 with an HTML body (botocore reports the code as ``"500"``; on the
  XML-protocol CloudFormation API botocore cannot parse it at all: ``ResponseParserError``);
- moto in-process answers HTTP 404 with no code for a service it does not emulate;
- LocalStack answers HTTP 501 (``InternalFailure``).

AWS itself always names its error, so each of these becomes
:class:`~autoninja.errors.UnsupportedOperationError` (HTTP 501) naming the service, the operation and
the endpoint.

Example::

    services = DeploymentServices.from_settings(Settings.from_env())
    trail = Trail()
    deployment = services.stacks.deploy("autoninja-friend", template, {}, tags={}, trail=trail)
    deployment.status, deployment.outputs        # "CREATE_COMPLETE", {"TableName": "..."}
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import boto3
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    WaiterError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError

from autoninja.conversion import extract_structured, parse_yaml
from autoninja.errors import (
    AutoNinjaError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    UnsupportedOperationError,
)

if TYPE_CHECKING:
    from botocore.config import Config

    from autoninja.settings import Settings

#: boto3 clients of services whose stub packages are not pinned (mypy_boto3_cloudformation,
#: mypy_boto3_bedrock_agent, mypy_boto3_bedrock_agent_runtime): typed loosely on purpose.
AwsClient: TypeAlias = Any

# -- errors of this module (subclasses of the package's hierarchy) ---------------------------------


class DeploymentRefusedError(AutoNinjaError):
    """A deployment step was asked for although its precondition failed (e.g. validation failed)."""

    status_code = 409


class ResourceConflictError(AutoNinjaError):
    """The resource exists or is busy (a stack update in progress, a name already taken)."""

    status_code = 409


class DeploymentFailedError(AutoNinjaError):
    """AWS accepted the request but the resource ended failed (a rolled-back stack, a FAILED agent)."""

    status_code = 422


class AgentInvocationError(AutoNinjaError):
    """A deployed agent answered an invocation with an error (its Lambda failed, it was throttled...)."""

    status_code = 502


class ServiceUnavailableError(AutoNinjaError):
    """An AWS service was unreachable, throttled us or failed internally after the configured retries."""

    status_code = 503


class DeploymentTimeoutError(AutoNinjaError):
    """A resource did not settle within ``deploy_wait_seconds``; it may still finish on its own."""

    status_code = 504


# -- error translation -------------------------------------------------------------------------------

#: HTTP statuses that, answered *without* an AWS error code, mean the endpoint lacks the operation.
_CODELESS_UNSUPPORTED = frozenset({404, 405, 500, 501})
_INVALID_CODES = frozenset(
    {"validationerror", "validationexception", "insufficientcapabilitiesexception", "badrequestexception"}
)
_NOT_FOUND_CODES = frozenset({"resourcenotfoundexception", "stacknotfoundexception", "notfoundexception"})
_CONFLICT_CODES = frozenset({"alreadyexistsexception", "conflictexception", "tokenalreadyexistsexception"})
_UNAVAILABLE_CODES = frozenset(
    {
        "throttling",
        "throttlingexception",
        "toomanyrequestsexception",
        "servicequotaexceededexception",
        "limitexceededexception",
        "internalserverexception",
        "internalfailure",
        "serviceunavailable",
        "serviceunavailableexception",
        "modelnotreadyexception",
    }
)
_DENIED_CODES = frozenset({"accessdenied", "accessdeniedexception", "unauthorizedoperation"})
_AGENT_FAILURE_CODES = frozenset({"dependencyfailedexception", "badgatewayexception"})


def translate_client_error(
    exc: ClientError, *, service: str, operation: str, endpoint: str
) -> Exception | None:
    """The package error for an AWS error, chosen by its code and HTTP status; ``None`` if unexpected.

    Example::

        translate_client_error(exc, service="bedrock-agent", operation="PrepareAgent",
                               endpoint="http://127.0.0.1:4566")
        # UnsupportedOperationError("bedrock-agent PrepareAgent is not supported by the target ...")
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if not code and isinstance(status, int):
        code = str(status)
    where = f"{service} {operation}"
    codeless = code.isdigit()
    if status == 501 or (codeless and int(code) in _CODELESS_UNSUPPORTED):
        how = "with no AWS error code" if codeless else f"with {code}"
        return UnsupportedOperationError(
            f"{where} is not supported by the target endpoint {endpoint} (it answered HTTP {status or code} "
            f"{how})"
        )
    message = str(error.get("Message") or code)
    key = code.lower()
    if key in _INVALID_CODES:
        return InvalidInputError(f"{where} rejected the request ({code}): {message}")
    if key in _NOT_FOUND_CODES:
        return NotFoundError(f"{where}: not found ({code}): {message}")
    if key in _CONFLICT_CODES:
        return ResourceConflictError(f"{where}: conflict ({code}): {message}")
    if key in _UNAVAILABLE_CODES:
        return ServiceUnavailableError(f"{where} failed at {endpoint} ({code}): {message}")
    if key in _DENIED_CODES:
        return ConfigurationError(f"{where}: this function's role is not allowed ({code}): {message}")
    if key in _AGENT_FAILURE_CODES:
        return AgentInvocationError(f"{where}: the agent failed ({code}): {message}")
    return None


class _Adapter:
    """An adapter over one AWS service: the injected client or a lazily built one, and error translation."""

    service: ClassVar[str]

    def __init__(self, client: AwsClient | None = None, config: Config | None = None) -> None:
        self._client = client
        self._config = config
        self._client_lock = threading.Lock()

    @property
    def client(self) -> AwsClient:
        """The injected client, or one built on first use from the environment (never at import)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = boto3.client(self.service, config=self._config)  # type: ignore[call-overload]
        return self._client

    @property
    def endpoint(self) -> str:
        """The endpoint the client talks to (AWS, LocalStack or the emulator)."""
        return str(self.client.meta.endpoint_url)

    @contextmanager
    def calling(self, operation: str) -> Iterator[None]:
        """Translate the failures of one AWS call into this package's errors; re-raise unexpected codes."""
        try:
            yield
        except ClientError as exc:
            translated = translate_client_error(
                exc, service=self.service, operation=operation, endpoint=self.endpoint
            )
            if translated is None:
                raise
            raise translated from exc
        except ResponseParserError as exc:
            raise UnsupportedOperationError(
                f"{self.service} {operation} could not be handled by the target endpoint {self.endpoint}: it "
                "answered with a body that is not an AWS response (an emulator lacking this API or a "
                "feature the request uses)"
            ) from exc
        except ReadTimeoutError as exc:
            raise DeploymentTimeoutError(
                f"{self.service} {operation} got no answer from {self.endpoint} in time"
            ) from exc
        except (EndpointConnectionError, ConnectTimeoutError, BotocoreConnectionError) as exc:
            raise ServiceUnavailableError(
                f"{self.service} {operation}: {self.endpoint} could not be reached ({type(exc).__name__})"
            ) from exc


# -- the trail ----------------------------------------------------------------------------------------


@dataclass
class Trail:
    """What an operation did against AWS, step by step; stored with the result, success or failure.

    Example::

        trail = Trail()
        trail.step("CreateAgent", agent_id="ABCDEFGHIJ")
        trail.create("AWS::Bedrock::Agent", "ABCDEFGHIJ", name="friend-agent")
        trail.as_dict()   # {"steps": [...], "created": [...], "removed": [], "left_behind": []}
    """

    steps: list[dict[str, Any]] = field(default_factory=list)
    created: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    left_behind: list[dict[str, str]] = field(default_factory=list)

    def step(self, operation: str, **detail: Any) -> None:
        """Note one AWS call that succeeded."""
        self.steps.append({"operation": operation, **detail})

    def create(self, resource_type: str, resource_id: str, **detail: str) -> None:
        """Note a resource that exists because of this operation."""
        self.created.append({"type": resource_type, "id": resource_id, **detail})

    def remove(self, resource_type: str, resource_id: str, **detail: str) -> None:
        """Note a created resource that was deleted again (rolled back)."""
        self.removed.append({"type": resource_type, "id": resource_id, **detail})

    def leave(self, resource_type: str, resource_id: str, **detail: str) -> None:
        """Note a created resource that could not be deleted again and still exists."""
        self.left_behind.append({"type": resource_type, "id": resource_id, **detail})

    def summary(self) -> str:
        """One sentence on what exists because of this operation, for an error message."""

        def named(resources: list[dict[str, str]]) -> str:
            return ", ".join(f"{r['type']} {r['id']}" for r in resources)

        if not self.created:
            return "nothing was created"
        parts = [f"created before the failure: {named(self.created)}"]
        if self.removed:
            parts.append(f"deleted again: {named(self.removed)}")
        if self.left_behind:
            parts.append(f"STILL EXISTS, delete it by hand: {named(self.left_behind)}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The trail as JSON-ready data."""
        return asdict(self)


def _with_context(exc: AutoNinjaError, context: str) -> AutoNinjaError:
    """The same kind of error, its message extended with what was created and removed."""
    return type(exc)(f"{exc}; {context}")


# -- CloudFormation templates (pure helpers) -------------------------------------------------------------

_SUB_VARIABLE_RE = re.compile(r"\$\{(?!!)([A-Za-z0-9_:.]+)\}")
LAMBDA_FUNCTION_TYPES = frozenset({"AWS::Lambda::Function", "AWS::Serverless::Function"})
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"


def resources_of(template: Mapping[str, Any], *types: str) -> dict[str, Mapping[str, Any]]:
    """The template's resources of the given types (all if none given), by logical id.

    Example::

        resources_of(template, "AWS::Lambda::Function")   # {"MemoryFunction": {"Type": ..., ...}}
    """
    found: dict[str, Mapping[str, Any]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, Mapping) and (not types or resource.get("Type") in types):
            found[str(logical_id)] = resource
    return found


def name_expression(value: Any) -> str | None:
    """A name in a template as one ``Fn::Sub``-style string, so two spellings compare equal.

    Example::

        name_expression({"Fn::Sub": "/aws/lambda/${Fn}"})                          # "/aws/lambda/${Fn}"
        name_expression({"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Fn"}]]})       # "/aws/lambda/${Fn}"
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    (function, argument), *_ = value.items()
    if function == "Ref" and isinstance(argument, str):
        return f"${{{argument}}}"
    if function == "Fn::Sub":
        text = argument[0] if isinstance(argument, list) and argument else argument
        return text if isinstance(text, str) else None
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        names = [name_expression(part) for part in parts] if isinstance(parts, list) else [None]
        if isinstance(separator, str) and all(n is not None for n in names):
            return separator.join(n for n in names if n is not None)
    return None


def references(value: Any) -> set[str]:
    """Every logical name a template value refers to: ``Ref``, ``Fn::GetAtt``, ``${Name}`` in ``Fn::Sub``.

    Why: to tell whether a resource already serves a function (a permission naming it, an output).

    Example::

        references({"Fn::Sub": "/aws/lambda/${Fn}"})           # {"Fn"}
        references({"Fn::GetAtt": ["Table", "Arn"]})            # {"Table"}
    """
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, Mapping):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(target, str):
                    found.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
                local = set(variables) if isinstance(variables, Mapping) else set()
                if isinstance(text, str):
                    found |= {m.split(".", 1)[0] for m in _SUB_VARIABLE_RE.findall(text)} - local
                found |= references(variables)
            else:
                found |= references(argument)
    return found


def template_in(architecture: Mapping[str, Any]) -> dict[str, Any] | None:
    """A CloudFormation template in an architecture document: the document itself, or under a key
    (``cloudformation_template``, ``template``...) as an object or as JSON/YAML text.

    Example::

        template_in({"services": [...], "cloudformation_template": "Resources: ..."})   # {"Resources": ...}
    """
    if "Resources" in architecture:
        return dict(architecture)
    for key in ("cloudformation_template", "template", "Template", "CloudFormationTemplate"):
        value = architecture.get(key)
        if isinstance(value, str) and value.strip():
            value = extract_structured(value, what=f"architecture.{key}")
        if isinstance(value, dict) and "Resources" in value:
            return value
    return None


def log_group_of(template: Mapping[str, Any], function_id: str) -> str | None:
    """The logical id of the ``AWS::Logs::LogGroup`` a template gives a Lambda function, if any.

    A group matches if the function's ``LoggingConfig.LogGroup`` names it, or if its name is
    ``/aws/lambda/`` followed by the function's name (``${Function}`` or its ``FunctionName``).
    Why: the compliance check and the template generator must agree on what "has a log group" means.

    Example::

        log_group_of(template, "MemoryFunction")   # "MemoryFunctionLogGroup" (/aws/lambda/${MemoryFunction})
    """
    function = resources_of(template).get(function_id) or {}
    properties = function.get("Properties") or {}
    own_name = name_expression(properties.get("FunctionName"))
    logging_group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    expected = {f"/aws/lambda/${{{function_id}}}"} | ({f"/aws/lambda/{own_name}"} if own_name else set())
    for group_id, group in resources_of(template, LOG_GROUP_TYPE).items():
        group_name = name_expression((group.get("Properties") or {}).get("LogGroupName"))
        if logging_group is not None and (
            group_id in references(logging_group) or name_expression(logging_group) == group_name
        ):
            return group_id
        if group_name in expected:
            return group_id
    return None


# -- CloudFormation -------------------------------------------------------------------------------------

_STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
MAX_STACK_NAME_LENGTH = 128
#: CloudFormation's limit on an inline ``TemplateBody``.
MAX_TEMPLATE_BODY_BYTES = 51_200
_IAM_TYPE_PREFIX = "AWS::IAM::"
_STACK_TYPE = "AWS::CloudFormation::Stack"
_REPLACEABLE_STATUSES = frozenset({"ROLLBACK_COMPLETE"})
_STUCK_STATUSES = frozenset(
    {"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"}
)
_OPERATION_START_STATUSES = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "IMPORT_IN_PROGRESS"})


def stack_name_for(requested: str, prefix: str | None = None) -> str:
    """The stack name to deploy: ``requested`` with ``prefix`` in front unless it already starts with it.

    CloudFormation's rules: a letter, then letters, digits and hyphens, at most 128 characters.

    Example::

        stack_name_for("friend-agent", "autoninja-")   # "autoninja-friend-agent"
        stack_name_for("1-bad")                         # InvalidInputError
    """
    name = requested.strip()
    if prefix and not name.startswith(prefix):
        name = prefix + name
    if not _STACK_NAME_RE.match(name):
        raise InvalidInputError(
            f"stack_name {requested!r} is not a valid CloudFormation stack name: it must start with a "
            "letter and hold only letters, digits and hyphens"
        )
    if len(name) > MAX_STACK_NAME_LENGTH:
        raise InvalidInputError(
            f"stack_name {name!r} is {len(name)} characters; CloudFormation allows {MAX_STACK_NAME_LENGTH}"
        )
    return name


@dataclass(frozen=True)
class StackResource:
    """One resource of a deployed stack."""

    logical_id: str
    physical_id: str
    type: str
    status: str


@dataclass(frozen=True)
class StackDeployment:
    """The outcome of :meth:`StackDeployer.deploy`: what was done, the final status and the outputs."""

    stack_name: str
    stack_id: str
    operation: str  # "create", "update" or "none" (the stack already matched)
    status: str
    outputs: dict[str, str]
    resources: list[StackResource]
    replaced_failed_stack: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class StackFailure:
    """A failure event of a stack: which resource, its status and CloudFormation's reason."""

    logical_id: str
    type: str
    status: str
    reason: str


def _canonical(template: Any) -> Any:
    """A template as plain JSON data (a stored YAML body parsed), for comparison."""
    if isinstance(template, str):
        try:
            return json.loads(template)
        except json.JSONDecodeError:
            return parse_yaml(template)
    return json.loads(json.dumps(template, default=str))


def capabilities_for(template: Mapping[str, Any]) -> list[str]:
    """The capabilities a template needs acknowledged: IAM for IAM resources, AUTO_EXPAND for transforms.

    Example::

        capabilities_for({"Resources": {"R": {"Type": "AWS::IAM::Role"}}})
        # ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    """
    resources = template.get("Resources") or {}
    types = {str(r.get("Type", "")) for r in resources.values() if isinstance(r, Mapping)}
    needed: list[str] = []
    if any(t.startswith(_IAM_TYPE_PREFIX) for t in types):
        needed += ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    if "Transform" in template or _STACK_TYPE in types:
        needed.append("CAPABILITY_AUTO_EXPAND")
    return needed


class StackDeployer(_Adapter):
    """Creates or updates CloudFormation stacks and waits for them, bounded.

    Why: the deployment manager must really deploy and report the stack's true final state: outputs on
    success, the failing resources and their reasons on failure, never a success that did not happen.

    Example::

        deployer = StackDeployer.from_settings(settings)
        result = deployer.deploy("autoninja-friend", template, {"Stage": "dev"}, tags={}, trail=Trail())
        result.outputs["PreferencesTableName"]
    """

    service = "cloudformation"

    def __init__(
        self,
        client: AwsClient | None = None,
        config: Config | None = None,
        *,
        stack_prefix: str | None = None,
        wait_seconds: int = 600,
        poll_seconds: int = 5,
    ) -> None:
        super().__init__(client, config)
        self.stack_prefix = stack_prefix
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    @classmethod
    def from_settings(cls, settings: Settings, client: AwsClient | None = None) -> StackDeployer:
        """A deployer with the configured stack prefix, wait bound, retries and timeouts."""
        return cls(
            client,
            settings.botocore_config(),
            stack_prefix=settings.deploy_stack_prefix,
            wait_seconds=settings.deploy_wait_seconds,
        )

    def stack_name(self, requested: str) -> str:
        """The validated stack name, with the configured prefix."""
        return stack_name_for(requested, self.stack_prefix)

    def deploy(
        self,
        stack_name: str,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        *,
        tags: Mapping[str, str],
        trail: Trail,
    ) -> StackDeployment:
        """Create the stack, or update it if it exists, and wait until it settles.

        A stack left in ``ROLLBACK_COMPLETE`` by an earlier failed creation holds no resources; it is
        deleted and created again. A stack in progress is a :class:`ResourceConflictError`.
        Raises :class:`DeploymentFailedError` with the failure reasons if the stack fails, and
        :class:`DeploymentTimeoutError` if it has not settled within ``wait_seconds``.
        """
        body = json.dumps(template, separators=(",", ":"), default=str)
        if len(body.encode()) > MAX_TEMPLATE_BODY_BYTES:
            raise InvalidInputError(
                f"cloudformation_template is {len(body.encode())} bytes as JSON; CloudFormation accepts at "
                f"most {MAX_TEMPLATE_BODY_BYTES} inline"
            )
        existing = self._describe(stack_name)
        replaced = False
        if existing is not None and existing["StackStatus"] in _REPLACEABLE_STATUSES:
            self._delete_failed(stack_name, existing, trail)
            existing, replaced = None, True
        if existing is not None:
            status = existing["StackStatus"]
            if status.endswith("_IN_PROGRESS"):
                raise ResourceConflictError(f"stack {stack_name} is {status}; try again once it has settled")
            if status in _STUCK_STATUSES:
                raise ResourceConflictError(
                    f"stack {stack_name} is {status} and needs attention before it can be deployed again"
                )
        common: dict[str, Any] = {
            "StackName": stack_name,
            "TemplateBody": body,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "Capabilities": capabilities_for(template),
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if existing is None:
            with self.calling("CreateStack"):
                try:
                    stack_id = self.client.create_stack(**common)["StackId"]
                except (ClientError, ResponseParserError):
                    self._note_leftover(stack_name, trail)
                    raise
            trail.step("CreateStack", stack_name=stack_name, stack_id=stack_id)
            trail.create(_STACK_TYPE, stack_id, name=stack_name)
            operation, waiter = "create", "stack_create_complete"
        elif self._unchanged(stack_name, existing, template, parameters):
            trail.step("DescribeStacks", stack_name=stack_name, note="template and parameters unchanged")
            return self._result(stack_name, "none", template, replaced=False)
        else:
            with self.calling("UpdateStack"):
                stack_id = self.client.update_stack(**common)["StackId"]
            trail.step("UpdateStack", stack_name=stack_name, stack_id=stack_id)
            operation, waiter = "update", "stack_update_complete"
        self._wait(stack_name, waiter, operation)
        return self._result(stack_name, operation, template, replaced=replaced)

    # -- steps -------------------------------------------------------------------------------------

    def _describe(self, stack_name: str) -> dict[str, Any] | None:
        try:
            with self.calling("DescribeStacks"):
                stacks = self.client.describe_stacks(StackName=stack_name)["Stacks"]
        except InvalidInputError:  # CloudFormation answers ValidationError for a stack that does not exist
            return None
        return dict(stacks[0]) if stacks else None

    def _delete_failed(self, stack_name: str, existing: Mapping[str, Any], trail: Trail) -> None:
        with self.calling("DeleteStack"):
            self.client.delete_stack(StackName=stack_name)
        self._wait(stack_name, "stack_delete_complete", "delete")
        trail.step(
            "DeleteStack",
            stack_name=stack_name,
            note=f"replaced a stack left in {existing['StackStatus']} by an earlier failed creation",
        )

    def _note_leftover(self, stack_name: str, trail: Trail) -> None:
        """After a failed CreateStack, record a stack the target made anyway (emulators do)."""
        try:
            leftover = self._describe(stack_name)
        except AutoNinjaError:
            return
        if leftover is not None:
            trail.create(_STACK_TYPE, str(leftover.get("StackId", stack_name)), name=stack_name)
            trail.leave(_STACK_TYPE, str(leftover.get("StackId", stack_name)), status=leftover["StackStatus"])

    def _unchanged(
        self,
        stack_name: str,
        existing: Mapping[str, Any],
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
    ) -> bool:
        with self.calling("GetTemplate"):
            current = self.client.get_template(StackName=stack_name, TemplateStage="Original")
        if _canonical(current.get("TemplateBody")) != _canonical(template):
            return False
        current_values = {
            p["ParameterKey"]: p.get("ParameterValue", "") for p in existing.get("Parameters") or []
        }
        declared = template.get("Parameters") or {}
        for key, value in current_values.items():
            wanted = parameters.get(key, str((declared.get(key) or {}).get("Default", value)))
            if wanted != value:
                return False
        return set(parameters) <= set(current_values)

    def _wait(self, stack_name: str, waiter_name: str, operation: str) -> None:
        attempts = max(1, -(-self.wait_seconds // self.poll_seconds))
        try:
            with self.calling("DescribeStacks"):
                self.client.get_waiter(waiter_name).wait(
                    StackName=stack_name, WaiterConfig={"Delay": self.poll_seconds, "MaxAttempts": attempts}
                )
        except WaiterError as exc:
            if operation == "delete":
                raise DeploymentFailedError(
                    f"stack {stack_name} could not be deleted to be replaced: {exc.last_response}"
                ) from exc
            stack = self._describe(stack_name)
            status = stack["StackStatus"] if stack else "GONE"
            if status.endswith("_IN_PROGRESS"):
                raise DeploymentTimeoutError(
                    f"stack {stack_name} is still {status} after {self.wait_seconds} s; it may still finish, "
                    "deploy again later to see its final state"
                ) from exc
            failures = self.failures(stack_name)
            reasons = "; ".join(f"{f.logical_id} ({f.type}) {f.status}: {f.reason}" for f in failures)
            stack_reason = (stack or {}).get("StackStatusReason")
            detail = reasons or stack_reason or "CloudFormation gave no reason"
            raise DeploymentFailedError(f"stack {stack_name} {operation} ended {status}: {detail}") from exc

    def failures(self, stack_name: str) -> list[StackFailure]:
        """The failure events of the stack's latest operation, oldest first (the first is the cause)."""
        found: list[StackFailure] = []
        paginator = self.client.get_paginator("describe_stack_events")
        with self.calling("DescribeStackEvents"):
            for page in paginator.paginate(StackName=stack_name):
                for event in page.get("StackEvents", []):
                    status = str(event.get("ResourceStatus", ""))
                    is_stack = event.get("ResourceType") == _STACK_TYPE
                    if is_stack and status in _OPERATION_START_STATUSES:
                        return list(reversed(found))
                    if status.endswith("_FAILED"):
                        found.append(
                            StackFailure(
                                logical_id=str(event.get("LogicalResourceId", "")),
                                type=str(event.get("ResourceType", "")),
                                status=status,
                                reason=str(event.get("ResourceStatusReason") or "no reason given"),
                            )
                        )
        return list(reversed(found))

    def _result(
        self, stack_name: str, operation: str, template: Mapping[str, Any], *, replaced: bool
    ) -> StackDeployment:
        stack = self._describe(stack_name)
        if stack is None:
            raise DeploymentFailedError(f"stack {stack_name} does not exist after its {operation}")
        resources = self._resources(stack_name)
        self._check_created(stack_name, stack["StackStatus"], template, resources)
        return StackDeployment(
            stack_name=stack_name,
            stack_id=str(stack["StackId"]),
            operation=operation,
            status=str(stack["StackStatus"]),
            outputs={o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs") or []},
            resources=resources,
            replaced_failed_stack=replaced,
        )

    def _resources(self, stack_name: str) -> list[StackResource]:
        paginator = self.client.get_paginator("list_stack_resources")
        resources: list[StackResource] = []
        with self.calling("ListStackResources"):
            for page in paginator.paginate(StackName=stack_name):
                resources.extend(
                    StackResource(
                        logical_id=str(r.get("LogicalResourceId", "")),
                        physical_id=str(r.get("PhysicalResourceId", "")),
                        type=str(r.get("ResourceType", "")),
                        status=str(r.get("ResourceStatus", "")),
                    )
                    for r in page.get("StackResourceSummaries", [])
                )
        return resources

    def _check_created(
        self, stack_name: str, status: str, template: Mapping[str, Any], resources: list[StackResource]
    ) -> None:
        """A target that reports success without creating some resources must not pass as a deployment."""
        present = {r.logical_id for r in resources}
        declared = template.get("Resources") or {}
        missing = sorted(
            f"{logical_id} ({spec.get('Type')})"
            for logical_id, spec in declared.items()
            if isinstance(spec, Mapping) and "Condition" not in spec and logical_id not in present
        )
        if missing:
            made = ", ".join(f"{r.logical_id} ({r.type})" for r in resources if r.logical_id) or "none"
            raise UnsupportedOperationError(
                f"cloudformation at {self.endpoint} reported stack {stack_name} {status} but did not create "
                f"{', '.join(missing)}: the target endpoint does not support these resource types; "
                f"the stack exists with: {made}"
            )


# -- Bedrock agents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionGroupSpec:
    """One action group of an agent: its Lambda executor and OpenAPI schema."""

    name: str
    lambda_arn: str
    api_schema: Mapping[str, Any]
    description: str | None = None


@dataclass(frozen=True)
class AgentSpec:
    """Everything needed to create and publish an agent."""

    name: str
    foundation_model: str
    instruction: str
    role_arn: str
    action_groups: tuple[ActionGroupSpec, ...]
    description: str | None = None
    idle_session_ttl_seconds: int | None = None
    alias_name: str = "live"
    memory: Mapping[str, Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentConfiguration:
    """A configured agent: ids and ARNs of the agent, its action groups and its alias."""

    agent_id: str
    agent_arn: str
    agent_name: str
    agent_status: str
    action_groups: dict[str, str]
    alias_id: str
    alias_arn: str
    alias_name: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


_AGENT_BUSY = frozenset({"CREATING", "UPDATING", "PREPARING", "VERSIONING"})
_ALIAS_BUSY = frozenset({"CREATING", "UPDATING"})
_AGENT_TYPE = "AWS::Bedrock::Agent"


class AgentProvisioner(_Adapter):
    """Creates a Bedrock agent with its action groups, prepares it and publishes an alias.

    Why: /configure-agent must really configure the agent or say precisely why not; a failure after
    the agent was created deletes it again (with its action groups and alias), and says so.

    Example::

        provisioner = AgentProvisioner.from_settings(settings)
        agent = provisioner.configure(spec, trail=Trail())
        agent.agent_id, agent.alias_id
    """

    service = "bedrock-agent"

    def __init__(
        self,
        client: AwsClient | None = None,
        config: Config | None = None,
        *,
        wait_seconds: int = 600,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client, config)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, client: AwsClient | None = None) -> AgentProvisioner:
        """A provisioner with the configured wait bound, retries and timeouts."""
        return cls(client, settings.botocore_config(), wait_seconds=settings.deploy_wait_seconds)

    def configure(self, spec: AgentSpec, *, trail: Trail) -> AgentConfiguration:
        """CreateAgent, CreateAgentActionGroup per group, PrepareAgent, CreateAgentAlias; wait for each.

        On a failure after the agent exists, the agent is deleted again (``skipResourceInUseCheck``
        removes its action groups and alias too) and the error's message says what was created and
        what was removed; the trail holds the same.
        """
        request: dict[str, Any] = {
            "agentName": spec.name,
            "foundationModel": spec.foundation_model,
            "instruction": spec.instruction,
            "agentResourceRoleArn": spec.role_arn,
        }
        if spec.description:
            request["description"] = spec.description
        if spec.idle_session_ttl_seconds:
            request["idleSessionTTLInSeconds"] = spec.idle_session_ttl_seconds
        if spec.memory:
            request["memoryConfiguration"] = dict(spec.memory)
        if spec.tags:
            request["tags"] = dict(spec.tags)
        with self.calling("CreateAgent"):
            agent = self.client.create_agent(**request)["agent"]
        agent_id = str(agent["agentId"])
        trail.step("CreateAgent", agent_id=agent_id, agent_name=spec.name)
        trail.create(_AGENT_TYPE, agent_id, name=spec.name)
        try:
            return self._complete(spec, agent_id, trail)
        except Exception as exc:
            self._roll_back(agent_id, trail)
            if isinstance(exc, AutoNinjaError):
                raise _with_context(exc, trail.summary()) from exc
            raise

    def _complete(self, spec: AgentSpec, agent_id: str, trail: Trail) -> AgentConfiguration:
        self._wait_agent(agent_id, ready={"NOT_PREPARED", "PREPARED"}, after="CreateAgent")
        groups: dict[str, str] = {}
        for group in spec.action_groups:
            request: dict[str, Any] = {
                "agentId": agent_id,
                "agentVersion": "DRAFT",
                "actionGroupName": group.name,
                "actionGroupExecutor": {"lambda": group.lambda_arn},
                "apiSchema": {"payload": json.dumps(group.api_schema)},
                "actionGroupState": "ENABLED",
            }
            if group.description:
                request["description"] = group.description
            with self.calling("CreateAgentActionGroup"):
                created = self.client.create_agent_action_group(**request)["agentActionGroup"]
            groups[group.name] = str(created["actionGroupId"])
            trail.step("CreateAgentActionGroup", action_group=group.name, action_group_id=groups[group.name])
        with self.calling("PrepareAgent"):
            self.client.prepare_agent(agentId=agent_id)
        trail.step("PrepareAgent", agent_id=agent_id)
        agent = self._wait_agent(agent_id, ready={"PREPARED"}, after="PrepareAgent")
        with self.calling("CreateAgentAlias"):
            alias = self.client.create_agent_alias(agentId=agent_id, agentAliasName=spec.alias_name)[
                "agentAlias"
            ]
        alias_id = str(alias["agentAliasId"])
        trail.step("CreateAgentAlias", alias_id=alias_id, alias_name=spec.alias_name)
        alias = self._wait_alias(agent_id, alias_id)
        return AgentConfiguration(
            agent_id=agent_id,
            agent_arn=str(agent.get("agentArn", "")),
            agent_name=spec.name,
            agent_status=str(agent.get("agentStatus", "")),
            action_groups=groups,
            alias_id=alias_id,
            alias_arn=str(alias.get("agentAliasArn", "")),
            alias_name=spec.alias_name,
        )

    def _poll(self, fetch: Callable[[], Mapping[str, Any]], status_key: str, busy: frozenset[str]) -> Any:
        deadline = self._clock() + self.wait_seconds
        while True:
            resource = fetch()
            if resource[status_key] not in busy or self._clock() >= deadline:
                return resource
            self._sleep(self.poll_seconds)

    def _wait_agent(self, agent_id: str, *, ready: set[str], after: str) -> Mapping[str, Any]:
        def fetch() -> Mapping[str, Any]:
            with self.calling("GetAgent"):
                return self.client.get_agent(agentId=agent_id)["agent"]  # type: ignore[no-any-return]

        agent = self._poll(fetch, "agentStatus", _AGENT_BUSY)
        status = agent["agentStatus"]
        if status in ready:
            return agent  # type: ignore[no-any-return]
        if status in _AGENT_BUSY:
            raise DeploymentTimeoutError(
                f"agent {agent_id} is still {status} {self.wait_seconds} s after {after}"
            )
        reasons = "; ".join(agent.get("failureReasons") or []) or "no reason given"
        raise DeploymentFailedError(f"agent {agent_id} is {status} after {after}: {reasons}")

    def _wait_alias(self, agent_id: str, alias_id: str) -> Mapping[str, Any]:
        def fetch() -> Mapping[str, Any]:
            with self.calling("GetAgentAlias"):
                return self.client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)[  # type: ignore[no-any-return]
                    "agentAlias"
                ]

        alias = self._poll(fetch, "agentAliasStatus", _ALIAS_BUSY)
        status = alias["agentAliasStatus"]
        if status == "PREPARED":
            return alias  # type: ignore[no-any-return]
        if status in _ALIAS_BUSY:
            raise DeploymentTimeoutError(f"alias {alias_id} of agent {agent_id} is still {status}")
        reasons = "; ".join(alias.get("failureReasons") or []) or "no reason given"
        raise DeploymentFailedError(f"alias {alias_id} of agent {agent_id} is {status}: {reasons}")

    def _roll_back(self, agent_id: str, trail: Trail) -> None:
        try:
            with self.calling("DeleteAgent"):
                self.client.delete_agent(agentId=agent_id, skipResourceInUseCheck=True)
        except (AutoNinjaError, ClientError) as exc:
            trail.leave(_AGENT_TYPE, agent_id, reason=f"DeleteAgent failed: {exc}")
            return
        trail.step("DeleteAgent", agent_id=agent_id, note="rolled back after a failed step")
        trail.remove(_AGENT_TYPE, agent_id)


# -- invoking a deployed agent -------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentReply:
    """What a deployed agent answered to one input."""

    output: str
    session_id: str
    chunks: int
    returned_control: bool
    duration_seconds: float


class AgentTester(_Adapter):
    """Calls a deployed agent with InvokeAgent and reads the whole completion stream.

    Example::

        reply = AgentTester.from_settings(settings).ask("FRIENDAG01", "TSTALIASID", "s-1", "Hi!")
        reply.output   # the agent's answer
    """

    service = "bedrock-agent-runtime"

    def __init__(
        self,
        client: AwsClient | None = None,
        config: Config | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client, config)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, client: AwsClient | None = None) -> AgentTester:
        """A tester whose read timeout allows an agent's full answer."""
        config = settings.botocore_config().merge(
            _config(read_timeout=settings.agent_invoke_read_timeout_seconds)
        )
        return cls(client, config)

    def ask(self, agent_id: str, alias_id: str, session_id: str, text: str) -> AgentReply:
        """Invoke the agent with ``text`` and collect its answer (stream errors are translated too)."""
        started = self._clock()
        parts: list[str] = []
        chunks = 0
        returned_control = False
        with self.calling("InvokeAgent"):
            response = self.client.invoke_agent(
                agentId=agent_id, agentAliasId=alias_id, sessionId=session_id, inputText=text
            )
            for event in response["completion"]:
                if "chunk" in event:
                    chunks += 1
                    parts.append(event["chunk"].get("bytes", b"").decode("utf-8", errors="replace"))
                if "returnControl" in event:
                    returned_control = True
        return AgentReply(
            output="".join(parts),
            session_id=str(response.get("sessionId", session_id)),
            chunks=chunks,
            returned_control=returned_control,
            duration_seconds=round(self._clock() - started, 3),
        )


def _config(**options: Any) -> Config:
    from botocore.config import Config

    return Config(**options)


# -- all three -------------------------------------------------------------------------------------


@dataclass
class DeploymentServices:
    """The deployment manager's adapters, built from settings (clients are created on first use).

    Example::

        services = DeploymentServices.from_settings(Settings.from_env())
        services.stacks.deploy(...)
    """

    stacks: StackDeployer
    agents: AgentProvisioner
    tester: AgentTester
    agent_role_arn: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DeploymentServices:
        """Adapters for the configured environment."""
        return cls(
            stacks=StackDeployer.from_settings(settings),
            agents=AgentProvisioner.from_settings(settings),
            tester=AgentTester.from_settings(settings),
            agent_role_arn=settings.agent_resource_role_arn,
        )
