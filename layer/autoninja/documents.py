"""The documents AutoNinja's agents produce, as pydantic models, and the rules more than one function uses.

The generation operations receive an agent model's raw text, keep it (:func:`store_raw_response`), turn
it into one of the documents below (:func:`convert`), and store the result under a fixed file name
(the ``*_ARTIFACT`` references). Later operations read those stored documents when their request does
not carry one (:func:`given_or_stored`), so one job's phases chain through S3.

==========================  ==========================================  ============================
Document                    Model                                       File
==========================  ==========================================  ============================
requirements                :class:`Requirements`                       requirements.json
complexity report           :class:`ComplexityReport`                   complexity.json
requirements check          :class:`RequirementsValidation`             requirements_validation.json
architecture                :class:`Architecture`                       architecture.json
service selection           :class:`ServiceSelection`                   services.json
CloudFormation template     :class:`CloudFormationTemplate` (*)         template.json
Lambda code                 :class:`LambdaCodeBundle` (``files`` only)  lambda_code.json
agent configuration         :class:`AgentConfig`                        agent_config.json
action-group OpenAPI        :class:`OpenApiDocument` (*)                openapi_schema.json
==========================  ==========================================  ============================

(*) The model validates; the parsed document itself is what is stored.

Example::

    store_raw_response(action, field="requirements", text=body.requirements, request=body)
    requirements = convert(Requirements, extract_object(body.requirements, what="requirements"),
                           what="requirements")
    action.store(REQUIREMENTS_ARTIFACT.filename, requirements.model_dump(mode="json"))
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from autoninja.artifacts import artifact_key
from autoninja.contract import JsonObject
from autoninja.conversion import extract_json, extract_structured
from autoninja.errors import ArtifactNotFoundError, ConversionError, InvalidInputError
from autoninja.models import Agent, Phase

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import BedrockAgentResolver

    from autoninja.action import ActionContext
    from autoninja.artifacts import StoredObject

DocumentT = TypeVar("DocumentT", bound=BaseModel)
OperationT = TypeVar("OperationT", bound=Callable[..., Any])

#: How many validation problems a message lists before it says how many more there are.
MAX_LISTED_PROBLEMS = 12

# -- request building blocks ----------------------------------------------------------------------


def _absent_if_blank(value: Any) -> Any:
    """Agents send ``""`` (or ``null``) for an optional field they have no value for: treat it as absent."""
    if isinstance(value, str) and value.strip() in ("", "null", "None"):
        return None
    return value


#: How optional fields appear in an agent's OpenAPI schema: a plain string, as Bedrock sends them.
_STRING_SCHEMA = WithJsonSchema({"type": "string"})
#: An optional JSON object sent as a string; ``""`` and ``"null"`` mean absent.
OptionalJsonObject = Annotated[JsonObject | None, BeforeValidator(_absent_if_blank), _STRING_SCHEMA]
#: An optional free-form string (JSON or prose); ``""`` and ``"null"`` mean absent.
OptionalText = Annotated[str | None, BeforeValidator(_absent_if_blank), _STRING_SCHEMA]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank: pass the model's complete answer")
    return value


#: A required model output: the agent model's raw text, never blank.
ModelText = Annotated[str, AfterValidator(_not_blank)]


def operation(
    app: BedrockAgentResolver, path: str, *, summary: str, description: str, operation_id: str
) -> Callable[[OperationT], OperationT]:
    """Register a POST operation on ``app``: Powertools' ``app.post``, typed, with the summary,
    description and operationId the agent's OpenAPI schema needs all required.

    Example::

        @operation(app, "/analyze-complexity", summary="Rate the requirements",
                   description="Scores the requirements ...", operation_id="analyzeComplexity")
        def analyze_complexity(body: Annotated[RequirementsRequest, Body()]) -> ComplexityResponse: ...
    """
    register: Callable[[OperationT], OperationT] = app.post(
        path, summary=summary, description=description, operation_id=operation_id
    )
    return register


def json_or_text(value: str | None) -> Any:
    """A free-form field as given: its JSON value if it is JSON, else the text itself (None if absent).

    Example::

        json_or_text('{"app.py": "s3://..."}')   # {"app.py": "s3://..."}
        json_or_text("see the memory handler")   # "see the memory handler"
    """
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


# -- conversion -------------------------------------------------------------------------------------


def _location(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def validation_problems(exc: ValidationError) -> list[dict[str, str]]:
    """Each problem pydantic found, as ``{"field": "a.b[0]", "problem": "..."}``."""
    problems = []
    for err in exc.errors():
        cause = err.get("ctx", {}).get("error") if err["type"] == "value_error" else None
        problem = str(cause) if cause is not None else err["msg"]
        problems.append({"field": _location(err["loc"]) or "(document)", "problem": problem})
    return problems


def summarise_problems(exc: ValidationError, *, limit: int = MAX_LISTED_PROBLEMS) -> str:
    """One line listing what pydantic found wrong, field by field (at most ``limit``, then a count).

    Example::

        summarise_problems(exc)   # "functional_requirements: List should have at least 1 item ...; ..."
    """
    problems = validation_problems(exc)
    listed = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:limit])
    extra = len(problems) - limit
    return f"{listed}; and {extra} more" if extra > 0 else listed


def convert(model: type[DocumentT], data: Any, *, what: str) -> DocumentT:
    """Validate what a model produced against ``model``; :class:`ConversionError` (422) naming each problem.

    Example::

        convert(Requirements, {"agent_purpose": "chat"}, what="requirements")
        # ConversionError: requirements do not match the expected document: agent_purpose: ...
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConversionError(
            f"{what}: the model output does not match the expected document: {summarise_problems(exc)}"
        ) from None


def parse_input(model: type[DocumentT], data: Any, *, what: str, source: str) -> DocumentT:
    """Validate a document an operation was given (or read); :class:`InvalidInputError` (400) otherwise.

    ``source`` says where it came from (``"request"`` or an ``s3://`` URI), so the message points there.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(
            f"{what} (from {source}) is not a valid {model.__name__} document: {summarise_problems(exc)}"
        ) from None


def _plain(value: Any) -> Any:
    """YAML may produce dates (``2010-09-09`` unquoted); JSON documents keep them as ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def extract_object(text: str, *, what: str, structured: bool = False) -> dict[str, Any]:
    """The JSON object (or, with ``structured``, JSON-or-YAML mapping) in a model's text.

    Raises :class:`ConversionError` when there is none or when it is not an object.

    Example::

        extract_object('Here it is:\\n```json\\n{"a": 1}\\n```', what="requirements")   # {"a": 1}
    """
    value = extract_structured(text, what=what) if structured else extract_json(text, what=what)
    if not isinstance(value, dict):
        raise ConversionError(
            f"{what}: the model output holds a JSON {type(value).__name__}, but a JSON object is expected"
        )
    result: dict[str, Any] = _plain(value)
    return result


# -- raw responses and stored artifacts -----------------------------------------------------------


def raw_response_filename(action_name: str) -> str:
    """``{action}_raw_response.json`` for an operation path (``/extract-requirements`` → ``extract-...``)."""
    return f"{action_name.strip('/')}_raw_response.json"


def store_raw_response(
    action: ActionContext, *, field: str, text: str, request: BaseModel | Mapping[str, Any]
) -> StoredObject:
    """Store the agent model's raw text before anything is done with it, with the rest of the request.

    Why: the raw output is kept even when its conversion fails, so every run can be audited and
    replayed. The document is ``{"action", "field", "raw_text", "request"}``, where ``request`` holds
    the other body fields (parsed where they are JSON) without ``job_name`` and the raw text.

    Example::

        store_raw_response(action, field="architecture", text=body.architecture, request=body)
        # stored as design-architecture_raw_response.json
    """
    fields = request.model_dump(mode="json") if isinstance(request, BaseModel) else dict(request)
    context = {name: value for name, value in fields.items() if name not in ("job_name", field)}
    document = {"action": action.action_name, "field": field, "raw_text": text, "request": context}
    return action.store(raw_response_filename(action.action_name), document)


def stored_artifacts(action: ActionContext) -> dict[str, str]:
    """What this invocation stored so far, as ``{file name: s3:// URI}``."""
    return {stored.key.rsplit("/", 1)[-1]: stored.uri for stored in action.stored}


@dataclass(frozen=True)
class ArtifactRef:
    """Where one kind of document of a job is stored, and which operation stores it."""

    phase: Phase
    agent_name: str
    filename: str
    what: str
    produced_by: str

    def uri(self, action: ActionContext) -> str:
        """The ``s3://`` URI this document has (or would have) for the action's job."""
        key = artifact_key(action.job_name, self.phase, self.agent_name, self.filename)
        return action.artifacts.objects.uri(key)


REQUIREMENTS_ARTIFACT = ArtifactRef(
    Phase.REQUIREMENTS,
    Agent.REQUIREMENTS_ANALYST,
    "requirements.json",
    "requirements",
    "/extract-requirements",
)
COMPLEXITY_ARTIFACT = ArtifactRef(
    Phase.REQUIREMENTS, Agent.REQUIREMENTS_ANALYST, "complexity.json", "complexity", "/analyze-complexity"
)
REQUIREMENTS_VALIDATION_ARTIFACT = ArtifactRef(
    Phase.REQUIREMENTS,
    Agent.REQUIREMENTS_ANALYST,
    "requirements_validation.json",
    "requirements validation",
    "/validate-requirements",
)
ARCHITECTURE_ARTIFACT = ArtifactRef(
    Phase.ARCHITECTURE, Agent.SOLUTION_ARCHITECT, "architecture.json", "architecture", "/design-architecture"
)
SERVICES_ARTIFACT = ArtifactRef(
    Phase.ARCHITECTURE, Agent.SOLUTION_ARCHITECT, "services.json", "service selection", "/select-services"
)
TEMPLATE_ARTIFACT = ArtifactRef(
    Phase.ARCHITECTURE, Agent.SOLUTION_ARCHITECT, "template.json", "CloudFormation template", "/generate-iac"
)
LAMBDA_CODE_ARTIFACT = ArtifactRef(
    Phase.CODE, Agent.CODE_GENERATOR, "lambda_code.json", "Lambda code", "/generate-lambda-code"
)
AGENT_CONFIG_ARTIFACT = ArtifactRef(
    Phase.CODE, Agent.CODE_GENERATOR, "agent_config.json", "agent configuration", "/generate-agent-config"
)
OPENAPI_SCHEMA_ARTIFACT = ArtifactRef(
    Phase.CODE, Agent.CODE_GENERATOR, "openapi_schema.json", "OpenAPI schema", "/generate-openapi-schema"
)


@dataclass(frozen=True)
class Sourced:
    """A document and where it came from: ``"request"`` or the ``s3://`` URI it was read from."""

    document: dict[str, Any]
    source: str


def given_or_stored(action: ActionContext, given: Mapping[str, Any] | None, ref: ArtifactRef) -> Sourced:
    """The document the request carries, else the one the job stored; :class:`ArtifactNotFoundError` (404)
    saying how to get one when there is neither.

    Example::

        given_or_stored(current_action(), body.requirements, REQUIREMENTS_ARTIFACT).source
        # "request", or "s3://bucket/job-friend-.../requirements/requirements-analyst/requirements.json"
    """
    if given is not None:
        return Sourced(dict(given), "request")
    uri = ref.uri(action)
    try:
        stored = action.read_json(ref.phase, ref.agent_name, ref.filename)
    except ArtifactNotFoundError:
        raise ArtifactNotFoundError(
            f"no {ref.what} in the request and none stored for job {action.job_name} (looked for {uri}); "
            f"pass {ref.what} as JSON, or run {ref.agent_name} {ref.produced_by} for this job first"
        ) from None
    if not isinstance(stored, dict):
        raise ConversionError(f"the stored {ref.what} at {uri} is not a JSON object")
    return Sourced(stored, uri)


# -- rules shared by the deterministic operations -------------------------------------------------


def mentions(text: str, patterns: Iterable[str]) -> list[str]:
    """What ``text`` says that matches ``patterns`` (regular expressions matched from a word start to the
    end of that word, case-insensitive): the first match of each pattern, lower-cased, without repeats.

    Example::

        mentions("Remembers the user's name", [r"remember", r"memory"])   # ["remembers"]
    """
    found: list[str] = []
    for pattern in patterns:
        match = re.search(rf"\b(?:{pattern})\w*", text, re.IGNORECASE)
        if match and match.group(0).lower() not in found:
            found.append(match.group(0).lower())
    return found


def document_texts(document: Any) -> Iterator[str]:
    """Every string inside a JSON document (keys excluded), depth first: what keyword rules read."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, Mapping):
        for value in document.values():
            yield from document_texts(value)
    elif isinstance(document, list | tuple):
        for value in document:
            yield from document_texts(value)


# -- requirements -----------------------------------------------------------------------------------

_ITEM_TEXT_KEYS = ("description", "requirement", "text", "title", "name")


def _requirement_text(item: Any) -> Any:
    """A requirement given as an object (``{"id": "FR-1", "description": ...}``) becomes ``"FR-1: ..."``."""
    if isinstance(item, Mapping):
        text = next((item[k] for k in _ITEM_TEXT_KEYS if isinstance(item.get(k), str)), None)
        if text is None:
            return item  # pydantic reports it as not a string
        ident = item.get("id")
        return f"{ident}: {text}" if isinstance(ident, str) and ident else text
    return item


#: One requirement: a non-blank string (an object with a ``description`` is accepted and flattened).
RequirementText = Annotated[
    str, BeforeValidator(_requirement_text), StringConstraints(strip_whitespace=True, min_length=1)
]


class Requirements(BaseModel):
    """What an agent to be built must do: the requirements-analyst's ``requirements.json``.

    Extra keys the model adds are kept. List items may be strings or objects with a ``description``
    (and an optional ``id``), which are stored as ``"id: description"`` strings.

    Example::

        Requirements(agent_purpose="A companion chat agent that remembers the user",
                     functional_requirements=["Greet the user by name"])
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    agent_name: str | None = Field(default=None, description="A short name suggested for the agent")
    agent_purpose: str = Field(min_length=10, description="One or two sentences: what the agent is for")
    target_users: list[RequirementText] = Field(default_factory=list, description="Who uses the agent")
    functional_requirements: list[RequirementText] = Field(
        min_length=1, description="What the agent must do, one testable statement each"
    )
    non_functional_requirements: list[RequirementText] = Field(
        default_factory=list, description="Performance, security, privacy, availability, cost"
    )
    integrations: list[RequirementText] = Field(
        default_factory=list, description="External systems and AWS services the agent relies on"
    )
    data_sources: list[RequirementText] = Field(
        default_factory=list, description="Data the agent reads or keeps, and where"
    )
    interaction_style: str | None = Field(default=None, description="Tone, channel and conversation style")
    constraints: list[RequirementText] = Field(default_factory=list, description="Hard limits on the design")
    success_criteria: list[RequirementText] = Field(
        default_factory=list, description="Measurable signs the agent works"
    )
    assumptions: list[RequirementText] = Field(default_factory=list, description="What is taken as given")

    def texts(self) -> list[tuple[str, str]]:
        """Every statement as ``(field, text)``, purpose and interaction style included."""
        out: list[tuple[str, str]] = [("agent_purpose", self.agent_purpose)]
        if self.interaction_style:
            out.append(("interaction_style", self.interaction_style))
        for name in (
            "target_users",
            "functional_requirements",
            "non_functional_requirements",
            "integrations",
            "data_sources",
            "constraints",
            "success_criteria",
            "assumptions",
        ):
            out.extend((name, text) for text in getattr(self, name))
        return out


class ComplexityFactor(BaseModel):
    """One rule that added to a complexity score, and why."""

    factor: str
    points: int
    reason: str


#: The levels a complexity score maps to.
ComplexityLevel = Literal["simple", "moderate", "complex"]
#: ``error`` issues make a document invalid; ``warning`` ones do not.
Severity = Literal["error", "warning"]


class ComplexityReport(BaseModel):
    """``complexity.json``: a deterministic score, its level and every factor that contributed."""

    score: int
    level: ComplexityLevel
    factors: list[ComplexityFactor]
    thresholds: dict[str, str] = Field(description="Score range of each level")
    requirements_source: str


class ValidationIssue(BaseModel):
    """One problem found in a document; ``error`` issues make it invalid, ``warning`` ones do not."""

    code: str
    severity: Severity
    field: str
    message: str


class RequirementsValidation(BaseModel):
    """``requirements_validation.json``: the outcome of the requirements checks, and the checks run."""

    valid: bool
    issues: list[ValidationIssue]
    checks: list[str]
    requirements_source: str


# -- architecture -----------------------------------------------------------------------------------


def _named(item: Any) -> Any:
    return {"name": item} if isinstance(item, str) else item


class ArchitectureService(BaseModel):
    """An AWS service the architecture uses and what for (a bare string is taken as its name)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    name: str = Field(min_length=2)
    purpose: str | None = None


class ArchitectureComponent(BaseModel):
    """A part of the solution (a function, a table, the agent...) and the services it is built on."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    type: str | None = None
    description: str | None = None
    services: list[str] = Field(default_factory=list)


class Architecture(BaseModel):
    """The solution-architect's ``architecture.json``. Extra keys (cost, scaling...) are kept.

    Example::

        Architecture(summary="Serverless Bedrock agent with DynamoDB memory",
                     services=["AWS Lambda", {"name": "Amazon DynamoDB", "purpose": "memory"}])
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    summary: str = Field(min_length=10, description="The design in a few sentences")
    services: list[Annotated[ArchitectureService, BeforeValidator(_named)]] = Field(
        min_length=1, description="AWS services used, each with its purpose"
    )
    components: list[Annotated[ArchitectureComponent, BeforeValidator(_named)]] = Field(
        default_factory=list, description="The parts of the solution"
    )
    data_flow: list[str | dict[str, Any]] = Field(
        default_factory=list, description="How a request moves through the components, step by step"
    )
    iam_notes: list[str] = Field(default_factory=list, description="Roles and least-privilege permissions")


class SelectedService(BaseModel):
    """One AWS service chosen for the requirements, with the reason and the requirement text matched."""

    service: str
    category: str
    reason: str
    matched: list[str] = Field(default_factory=list, description="'field: keyword' that triggered it")


class ServiceSelection(BaseModel):
    """``services.json``: the services the requirements call for, by deterministic keyword rules."""

    services: list[SelectedService]
    requirements_source: str


# -- CloudFormation ---------------------------------------------------------------------------------

_RESOURCE_TYPE_RE = r"^[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+){0,2}$"
_LOGICAL_ID_RE = re.compile(r"^[A-Za-z0-9]{1,255}$")
_SUB_VARIABLE_RE = re.compile(r"\$\{([^}!][^}]*)\}")


def _iso_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class CloudFormationResource(BaseModel):
    """One resource of a template: its ``Type`` and the attributes CloudFormation defines (no others)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(alias="Type", pattern=_RESOURCE_TYPE_RE)
    properties: dict[str, Any] | None = Field(default=None, alias="Properties")
    depends_on: str | list[str] | None = Field(default=None, alias="DependsOn")
    condition: str | None = Field(default=None, alias="Condition")
    metadata: dict[str, Any] | None = Field(default=None, alias="Metadata")
    deletion_policy: str | None = Field(default=None, alias="DeletionPolicy")
    update_replace_policy: str | None = Field(default=None, alias="UpdateReplacePolicy")
    update_policy: dict[str, Any] | None = Field(default=None, alias="UpdatePolicy")
    creation_policy: dict[str, Any] | None = Field(default=None, alias="CreationPolicy")


class CloudFormationParameter(BaseModel):
    """A template parameter; CloudFormation requires its ``Type``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(alias="Type", min_length=1)


class CloudFormationOutput(BaseModel):
    """A template output; CloudFormation requires its ``Value``."""

    model_config = ConfigDict(extra="allow")

    value: Any = Field(alias="Value")


class _ReferenceCheck:
    """Finds references (Ref, Fn::GetAtt, Fn::Sub, DependsOn) to names a template does not define."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources = set((template.get("Resources") or {}).keys())
        self.defined = self.resources | set((template.get("Parameters") or {}).keys())
        self.problems: list[str] = []

    def run(self, template: Mapping[str, Any]) -> list[str]:
        for name, resource in (template.get("Resources") or {}).items():
            if isinstance(resource, Mapping):
                self._depends_on(name, resource.get("DependsOn"))
                self._walk(resource.get("Properties"), f"Resources.{name}.Properties")
        for section in ("Outputs", "Conditions"):
            self._walk(template.get(section), section)
        return self.problems

    def _check(self, name: str, where: str, kind: str, allowed: set[str]) -> None:
        if not name.startswith("AWS::") and name not in allowed:
            self.problems.append(f"{where}: {kind} {name!r} is not defined in the template")

    def _depends_on(self, resource: str, depends: Any) -> None:
        for target in [depends] if isinstance(depends, str) else depends or []:
            if isinstance(target, str) and target not in self.resources:
                self.problems.append(
                    f"Resources.{resource}.DependsOn: {target!r} is not a resource of the template"
                )

    def _walk(self, node: Any, where: str) -> None:
        if isinstance(node, list):
            for index, value in enumerate(node):
                self._walk(value, f"{where}[{index}]")
        if not isinstance(node, Mapping):
            return
        for key, value in node.items():
            here = f"{where}.{key}"
            if key == "Ref" and isinstance(value, str):
                self._check(value, here, "Ref", self.defined)
            elif key == "Fn::GetAtt":
                self._get_att(value, here)
            elif key == "Fn::Sub":
                self._sub(value, here)
            else:
                self._walk(value, here)

    def _get_att(self, value: Any, where: str) -> None:
        target = value.split(".", 1)[0] if isinstance(value, str) else None
        if isinstance(value, list) and value and isinstance(value[0], str):
            target = value[0]
        if target is not None:
            self._check(target, where, "Fn::GetAtt", self.resources)
        self._walk(value, where)

    def _sub(self, value: Any, where: str) -> None:
        text = value if isinstance(value, str) else ""
        variables: Mapping[str, Any] = {}
        if isinstance(value, list) and value and isinstance(value[0], str):
            text = value[0]
            if len(value) > 1 and isinstance(value[1], Mapping):
                variables = value[1]
                self._walk(variables, where)
        for name in _SUB_VARIABLE_RE.findall(text):
            self._check(name.split(".", 1)[0].strip(), where, "${}", self.defined | set(variables))


class CloudFormationTemplate(BaseModel):
    """A CloudFormation template, validated: known top-level sections only, a non-empty ``Resources``
    mapping of alphanumeric logical IDs each with a ``Type``, and every ``Ref``/``Fn::GetAtt``/
    ``Fn::Sub``/``DependsOn`` naming something the template defines (or an ``AWS::`` pseudo parameter).

    The model validates; the template stored is the parsed document itself (see :func:`extract_object`).

    Example::

        CloudFormationTemplate.model_validate({"Resources": {"T": {"Type": "AWS::DynamoDB::Table"}}})
    """

    model_config = ConfigDict(extra="forbid")

    aws_template_format_version: Annotated[Literal["2010-09-09"] | None, BeforeValidator(_iso_date)] = Field(
        default=None, alias="AWSTemplateFormatVersion"
    )
    description: str | None = Field(default=None, alias="Description")
    metadata: dict[str, Any] | None = Field(default=None, alias="Metadata")
    parameters: dict[str, CloudFormationParameter] | None = Field(default=None, alias="Parameters")
    rules: dict[str, Any] | None = Field(default=None, alias="Rules")
    mappings: dict[str, Any] | None = Field(default=None, alias="Mappings")
    conditions: dict[str, Any] | None = Field(default=None, alias="Conditions")
    transform: str | list[str] | None = Field(default=None, alias="Transform")
    resources: dict[str, CloudFormationResource] = Field(alias="Resources", min_length=1)
    outputs: dict[str, CloudFormationOutput] | None = Field(default=None, alias="Outputs")

    @model_validator(mode="after")
    def _references(self) -> CloudFormationTemplate:
        bad_ids = [name for name in self.resources if not _LOGICAL_ID_RE.match(name)]
        problems = [f"Resources: logical ID {name!r} must be alphanumeric" for name in bad_ids]
        template = self.model_dump(by_alias=True, exclude_none=True)
        problems += _ReferenceCheck(template).run(template)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resource_types(self) -> dict[str, str]:
        """``{logical ID: resource type}``."""
        return {name: resource.type for name, resource in self.resources.items()}


# -- Lambda code ------------------------------------------------------------------------------------


class LambdaCodeBundle(BaseModel):
    """The code-generator's Lambda code: files by name, and the handler Lambda should call.

    ``lambda_code.json`` stores :attr:`files` alone, the ``{file name: code}`` map that the quality
    validator's and the deployment manager's ``code`` fields accept.

    Example::

        LambdaCodeBundle(files={"lambda_function.py": "def lambda_handler(event, context): ..."},
                         handler="lambda_function.lambda_handler")
    """

    files: dict[str, str] = Field(min_length=1)
    handler: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


# -- Bedrock agent configuration --------------------------------------------------------------------

#: Bedrock's pattern for agent and action-group names.
BEDROCK_NAME_PATTERN = r"^([0-9a-zA-Z][_-]?){1,100}$"
#: Bedrock's pattern for a foundation model id, inference profile or ARN.
FOUNDATION_MODEL_PATTERN = (
    r"^(arn:aws(-[^:]{1,12})?:(bedrock|sagemaker):[a-z0-9-]{1,20}:([0-9]{12})?:([a-z-]+/)?)?"
    r"([a-zA-Z0-9.-]{1,63}){0,2}(([:][a-z0-9-]{1,63}){0,2})?(/[a-z0-9]{1,12})?$"
)
_SNAKE_OR_CAMEL = AliasGenerator(validation_alias=lambda name: AliasChoices(name, to_camel(name)))


class ActionGroupConfig(BaseModel):
    """One action group of an agent (snake_case or Bedrock's camelCase keys are accepted)."""

    model_config = ConfigDict(extra="allow", alias_generator=_SNAKE_OR_CAMEL, str_strip_whitespace=True)

    name: str = Field(
        pattern=BEDROCK_NAME_PATTERN,
        validation_alias=AliasChoices("name", "action_group_name", "actionGroupName"),
    )
    description: str | None = Field(default=None, min_length=1, max_length=200)
    lambda_function: str | None = Field(default=None, description="The function (name or ARN) it calls")
    api_schema: str | None = Field(default=None, description="The OpenAPI schema it uses")


class AgentMemoryConfig(BaseModel):
    """Bedrock agent memory: session summaries kept for ``storage_days``."""

    model_config = ConfigDict(extra="allow", alias_generator=_SNAKE_OR_CAMEL)

    enabled_memory_types: list[Literal["SESSION_SUMMARY"]] = Field(min_length=1, max_length=1)
    storage_days: int | None = Field(default=None, ge=0, le=365)


class AgentConfig(BaseModel):
    """The code-generator's ``agent_config.json``: what Bedrock's CreateAgent needs, with its limits.

    Keys may be snake_case or Bedrock's camelCase (``agentName``, ``idleSessionTTLInSeconds``); they are
    stored snake_case. Extra keys are kept.

    Example::

        AgentConfig(agent_name="friend-companion", foundation_model="anthropic.claude-3-haiku-20240307-v1:0",
                    instruction="You are a warm, supportive friend who remembers the user's name ...")
    """

    model_config = ConfigDict(extra="allow", alias_generator=_SNAKE_OR_CAMEL, str_strip_whitespace=True)

    agent_name: str = Field(pattern=BEDROCK_NAME_PATTERN)
    description: str | None = Field(default=None, min_length=1, max_length=200)
    instruction: str = Field(min_length=40, max_length=4000, description="Bedrock requires 40-4000 chars")
    foundation_model: str = Field(min_length=1, max_length=2048, pattern=FOUNDATION_MODEL_PATTERN)
    idle_session_ttl_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=5400,
        validation_alias=AliasChoices(
            "idle_session_ttl_in_seconds", "idle_session_ttl", "idleSessionTTLInSeconds"
        ),
    )
    action_groups: list[ActionGroupConfig] = Field(default_factory=list)
    memory_configuration: AgentMemoryConfig | None = None

    @model_validator(mode="after")
    def _unique_action_groups(self) -> AgentConfig:
        names = [group.name for group in self.action_groups]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"action group names must be unique; repeated: {', '.join(duplicates)}")
        return self


# -- OpenAPI schema of an action group ------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApiInfo(BaseModel):
    """The ``info`` object: OpenAPI requires a title and a version."""

    model_config = ConfigDict(extra="allow")

    title: str = Field(min_length=1)
    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int | float) else v)]


class OpenApiOperation(BaseModel):
    """An operation as Bedrock needs it: an ``operationId``, a ``description`` (the agent reads it to
    decide when to call) and ``responses``."""

    model_config = ConfigDict(extra="allow")

    operation_id: str = Field(alias="operationId", pattern=r"^[A-Za-z0-9_-]+$")
    description: str = Field(min_length=1)
    responses: dict[str, Any] = Field(min_length=1)
    request_body: dict[str, Any] | None = Field(default=None, alias="requestBody")

    @model_validator(mode="after")
    def _body_content(self) -> OpenApiOperation:
        if self.request_body is not None and not self.request_body.get("content"):
            raise ValueError("requestBody must have content (Bedrock reads application/json)")
        return self


class OpenApiPathItem(BaseModel):
    """A path: at least one operation."""

    model_config = ConfigDict(extra="allow")

    get: OpenApiOperation | None = None
    put: OpenApiOperation | None = None
    post: OpenApiOperation | None = None
    delete: OpenApiOperation | None = None
    options: OpenApiOperation | None = None
    head: OpenApiOperation | None = None
    patch: OpenApiOperation | None = None
    trace: OpenApiOperation | None = None

    def operations(self) -> dict[str, OpenApiOperation]:
        """``{method: operation}`` for the methods defined."""
        found = {method: getattr(self, method) for method in HTTP_METHODS}
        return {method: op for method, op in found.items() if op is not None}


class OpenApiDocument(BaseModel):
    """An action group's OpenAPI 3.x schema, validated for what Bedrock needs.

    The model validates; the schema stored is the parsed document itself.

    Example::

        OpenApiDocument.model_validate({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"post": {"operationId": "a", "description": "A", "responses": {"200": {}}}}}})
    """

    model_config = ConfigDict(extra="allow")

    openapi: str = Field(pattern=r"^3\.\d+(\.\d+)?$", description="OpenAPI version, 3.x")
    info: OpenApiInfo
    paths: dict[str, OpenApiPathItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _paths(self) -> OpenApiDocument:
        problems = [f"path {path!r} must start with '/'" for path in self.paths if not path.startswith("/")]
        problems += [
            f"path {path!r} has no operation" for path, item in self.paths.items() if not item.operations()
        ]
        ids = [op.operation_id for item in self.paths.values() for op in item.operations().values()]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            problems.append(f"operationId must be unique; repeated: {', '.join(repeated)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def operation_list(self) -> list[dict[str, str]]:
        """Every operation as ``{"method", "path", "operation_id"}``."""
        return [
            {"method": method.upper(), "path": path, "operation_id": op.operation_id}
            for path, item in self.paths.items()
            for method, op in item.operations().items()
        ]
