"""The solution-architect's action group: the architecture, the AWS services and the CloudFormation template.

Operations (phase ``architecture``), every one a POST carrying ``job_name``:

- ``/design-architecture``: stores the agent model's raw answer, converts it into an
  :class:`~autoninja.documents.Architecture` and stores ``architecture.json``.
- ``/select-services``: maps the requirements (given, else the job's stored ones) to AWS services with
  fixed keyword rules; stores ``services.json``.
- ``/generate-iac``: stores the model's raw template, parses it (YAML with ``!Ref``/``!Sub`` tags, or
  JSON), validates it as a CloudFormation template and stores it as canonical JSON in ``template.json``.
  The services of the architecture (given, else stored) that no resource of the template implements
  are reported as warnings, not errors: some are created outside the template.
"""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from autoninja.action import PersistedAction, current_action
from autoninja.contract import JobRequest
from autoninja.documents import (
    ARCHITECTURE_ARTIFACT,
    REQUIREMENTS_ARTIFACT,
    SERVICES_ARTIFACT,
    TEMPLATE_ARTIFACT,
    Architecture,
    CloudFormationTemplate,
    ModelText,
    OptionalJsonObject,
    OptionalText,
    Requirements,
    SelectedService,
    ServiceSelection,
    convert,
    extract_object,
    given_or_stored,
    json_or_text,
    mentions,
    operation,
    parse_input,
    store_raw_response,
    stored_artifacts,
)
from autoninja.models import Agent

app = BedrockAgentResolver(enable_validation=True)

_ARCHITECTURE_SHAPE = (
    "a JSON object with summary (string), services (non-empty list of {name, purpose}), and optionally "
    "components (list of {name, type, description, services}), data_flow (list of steps) and iam_notes"
)
_REQUIREMENTS_GIVEN_OR_STORED = (
    "The requirements as a JSON object (a string holding JSON). Omit it to use the requirements this job "
    "stored with the requirements analyst's /extract-requirements."
)

# -- requests and responses -------------------------------------------------------------------------


class DesignArchitectureRequest(JobRequest):
    """The requirements (or the stored ones) and the model's architecture."""

    requirements: Annotated[OptionalJsonObject, Field(description=_REQUIREMENTS_GIVEN_OR_STORED)] = None
    architecture: Annotated[
        ModelText, Field(description=f"Your complete answer: {_ARCHITECTURE_SHAPE}; a ```json fence is fine.")
    ]
    code_file_references: Annotated[
        OptionalText,
        Field(description="Optional: code files the design refers to, as JSON (name -> location) or text"),
    ] = None


class SelectServicesRequest(JobRequest):
    """The requirements to select services for (absent: the job's stored ones)."""

    requirements: Annotated[OptionalJsonObject, Field(description=_REQUIREMENTS_GIVEN_OR_STORED)] = None


class GenerateIacRequest(JobRequest):
    """The architecture (or the stored one) and the model's CloudFormation template."""

    architecture: Annotated[
        OptionalJsonObject,
        Field(
            description="The architecture as a JSON object. Omit it to use the architecture this job stored "
            "with /design-architecture."
        ),
    ] = None
    cloudformation_template: Annotated[
        ModelText,
        Field(
            description="Your complete CloudFormation template, YAML (short-form tags such as !Ref and !Sub "
            "are fine) or JSON, ideally in a ```yaml fence. It needs a Resources section whose every "
            "resource has a Type, and every Ref/GetAtt/Sub must name a parameter or resource it defines."
        ),
    ]
    code_references: Annotated[
        OptionalText, Field(description="Optional: where the code the template deploys lives (JSON or text)")
    ] = None


class DesignArchitectureResponse(BaseModel):
    """The architecture as stored, what it was designed from, and where it is."""

    job_name: str
    architecture: Architecture
    requirements_source: str = Field(description="'request' or the s3:// URI of the stored requirements")
    artifacts: dict[str, str] = Field(description="Stored file name -> s3:// URI")


class SelectServicesResponse(BaseModel):
    """The services selected, and where the selection is stored."""

    job_name: str
    selection: ServiceSelection
    artifacts: dict[str, str]


class ArchitectureCoverage(BaseModel):
    """How the template covers the services of the architecture."""

    covered: list[str] = Field(description="Services with at least one matching resource")
    missing: list[str] = Field(description="Services no resource of the template implements (warnings)")
    unchecked: list[str] = Field(description="Services this check has no resource rule for")


class GenerateIacResponse(BaseModel):
    """A summary of the stored template (the template itself is in template.json)."""

    job_name: str
    resources: dict[str, str] = Field(description="Logical ID -> resource type")
    parameters: list[str]
    outputs: list[str]
    architecture_source: str
    architecture_coverage: ArchitectureCoverage
    warnings: list[str]
    artifacts: dict[str, str]


# -- operations -------------------------------------------------------------------------------------


@operation(
    app,
    "/design-architecture",
    summary="Store and convert the architecture designed for the requirements",
    description=(
        "Call this after you have designed the AWS architecture for the job's requirements. Pass your "
        f"complete answer ({_ARCHITECTURE_SHAPE}). The answer is stored as given, converted, validated and "
        "stored as architecture.json. Uses the job's stored requirements unless requirements are passed. "
        "A 422 response names what is missing or malformed; fix it and call again."
    ),
    operation_id="designArchitecture",
)
def design_architecture(body: Annotated[DesignArchitectureRequest, Body()]) -> DesignArchitectureResponse:
    action = current_action()
    store_raw_response(action, field="architecture", text=body.architecture, request=body)
    requirements = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    architecture = convert(
        Architecture, extract_object(body.architecture, what="architecture"), what="architecture"
    )
    document = architecture.model_dump(mode="json")
    if body.code_file_references is not None:
        document.setdefault("code_file_references", json_or_text(body.code_file_references))
    action.store(ARCHITECTURE_ARTIFACT.filename, document)
    return DesignArchitectureResponse(
        job_name=action.job_name,
        architecture=architecture,
        requirements_source=requirements.source,
        artifacts=stored_artifacts(action),
    )


@operation(
    app,
    "/select-services",
    summary="Select the AWS services the requirements call for",
    description=(
        "Maps the requirements to AWS services with fixed keyword rules (memory and preferences -> "
        "DynamoDB, daily check-ins and reminders -> EventBridge Scheduler, encryption -> KMS, safety -> "
        "Bedrock Guardrails, ...) plus the services every Bedrock agent needs, each with its reason and the "
        "requirement words that triggered it. Uses the job's stored requirements unless requirements are "
        "passed. Stores services.json."
    ),
    operation_id="selectServices",
)
def select_services(body: Annotated[SelectServicesRequest, Body()]) -> SelectServicesResponse:
    action = current_action()
    given = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    requirements = parse_input(Requirements, given.document, what="requirements", source=given.source)
    selection = ServiceSelection(services=select_for(requirements), requirements_source=given.source)
    action.store(SERVICES_ARTIFACT.filename, selection.model_dump(mode="json"))
    return SelectServicesResponse(
        job_name=action.job_name, selection=selection, artifacts=stored_artifacts(action)
    )


@operation(
    app,
    "/generate-iac",
    summary="Store and validate the CloudFormation template for the architecture",
    description=(
        "Call this after you have written the CloudFormation template for the architecture. Pass the "
        "complete template (YAML or JSON). It is stored as given, parsed, validated as a CloudFormation "
        "template (known sections, Resources with a Type each, alphanumeric logical IDs, every "
        "Ref/GetAtt/Sub/DependsOn defined) and stored as canonical JSON in template.json. Services of the "
        "architecture that no resource implements are returned as warnings. Uses the job's stored "
        "architecture unless architecture is passed. A 422 response lists every problem; fix them and "
        "call again."
    ),
    operation_id="generateIac",
)
def generate_iac(body: Annotated[GenerateIacRequest, Body()]) -> GenerateIacResponse:
    action = current_action()
    store_raw_response(
        action, field="cloudformation_template", text=body.cloudformation_template, request=body
    )
    given = given_or_stored(action, body.architecture, ARCHITECTURE_ARTIFACT)
    architecture = parse_input(Architecture, given.document, what="architecture", source=given.source)
    document = extract_object(body.cloudformation_template, what="cloudformation_template", structured=True)
    template = convert(CloudFormationTemplate, document, what="cloudformation_template")
    action.store(TEMPLATE_ARTIFACT.filename, document)
    coverage = architecture_coverage(architecture, template)
    return GenerateIacResponse(
        job_name=action.job_name,
        resources=template.resource_types(),
        parameters=sorted(template.parameters or {}),
        outputs=sorted(template.outputs or {}),
        architecture_source=given.source,
        architecture_coverage=coverage,
        warnings=[
            f"the architecture uses {name} but no resource of the template creates it"
            for name in coverage.missing
        ],
        artifacts=stored_artifacts(action),
    )


# -- service selection rules ------------------------------------------------------------------------

#: (service, category, reason, requirement patterns); no patterns: every Bedrock agent needs it.
SERVICE_RULES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Amazon Bedrock Agents", "ai", "the agent itself: orchestrates the model and its action groups", ()),
    ("AWS Lambda", "compute", "runs the action groups the agent calls", ()),
    ("AWS IAM", "security", "one least-privilege role for the agent and one per function", ()),
    ("Amazon CloudWatch", "observability", "logs, metrics and alarms of the functions", ()),
    (
        "Amazon DynamoDB",
        "storage",
        "keeps per-user state (memory, preferences, profiles, history) with single-digit-ms reads",
        (r"remember", r"memor", r"preference", r"profile", r"history", r"summar", r"persist", r"dynamodb"),
    ),
    (
        "Amazon EventBridge Scheduler",
        "integration",
        "triggers scheduled behaviour (check-ins, reminders) without a server",
        (r"daily", r"weekly", r"schedul", r"remind", r"check[- ]?in", r"cron", r"periodic", r"eventbridge"),
    ),
    (
        "AWS KMS",
        "security",
        "customer-managed keys for encryption at rest of user data",
        (r"encrypt", r"kms", r"pii", r"sensitive", r"personal (data|information)"),
    ),
    (
        "Guardrails for Amazon Bedrock",
        "ai",
        "content filters and denied topics keep conversations safe",
        (r"safe", r"harm", r"crisis", r"moderat", r"guardrail", r"toxic", r"professional help", r"mental"),
    ),
    (
        "Amazon S3",
        "storage",
        "stores files, documents and media",
        (r"files?\b", r"documents?\b", r"upload", r"attachment", r"image", r"photo", r"s3\b"),
    ),
    (
        "Knowledge Bases for Amazon Bedrock",
        "ai",
        "retrieval-augmented answers from a document collection",
        (r"knowledge base", r"faq", r"retriev", r"rag\b"),
    ),
    (
        "Amazon API Gateway",
        "integration",
        "an HTTP API for a web or mobile front end, or webhooks",
        (r"rest api", r"http api", r"web ?hook", r"mobile app", r"web app", r"api gateway"),
    ),
    (
        "Amazon Cognito",
        "security",
        "user sign-up and sign-in",
        (r"sign[- ]?in", r"sign[- ]?up", r"log[- ]?in", r"authenticat", r"user accounts?", r"cognito"),
    ),
    (
        "Amazon SNS",
        "integration",
        "push, SMS or email notifications",
        (r"notif", r"sms\b", r"e-?mails?\b", r"push"),
    ),
    (
        "AWS Step Functions",
        "integration",
        "multi-step workflows with retries and human approvals",
        (r"workflow", r"approval", r"multi[- ]step"),
    ),
    (
        "Amazon Comprehend",
        "ai",
        "detects sentiment or entities in messages",
        (r"sentiment", r"emotion", r"entit(y|ies)"),
    ),
    ("Amazon Translate", "ai", "translates conversations", (r"multilingual", r"translat", r"languages")),
    (
        "Amazon Transcribe and Amazon Polly",
        "ai",
        "speech to text and text to speech for voice conversations",
        (r"voice", r"speech", r"spoken", r"audio"),
    ),
)


def select_for(requirements: Requirements) -> list[SelectedService]:
    """The services :data:`SERVICE_RULES` select for ``requirements``, in rule order."""
    selected: list[SelectedService] = []
    for service, category, reason, patterns in SERVICE_RULES:
        words: dict[str, list[str]] = {}
        for field, text in requirements.texts():
            found = words.setdefault(field, [])
            found.extend(hit for hit in mentions(text, patterns) if hit not in found)
        matched = [f"{field}: {', '.join(hits)}" for field, hits in words.items() if hits]
        if not patterns or matched:
            selected.append(
                SelectedService(service=service, category=category, reason=reason, matched=matched)
            )
    return selected


# -- architecture coverage --------------------------------------------------------------------------

#: (service name pattern, resource type prefixes that implement it).
SERVICE_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"lambda", ("AWS::Lambda::", "AWS::Serverless::Function")),
    (r"dynamodb", ("AWS::DynamoDB::", "AWS::Serverless::SimpleTable")),
    (r"\bs3\b", ("AWS::S3::",)),
    (r"eventbridge|scheduler", ("AWS::Events::", "AWS::Scheduler::")),
    (r"\bsns\b|simple notification", ("AWS::SNS::",)),
    (r"\bsqs\b|simple queue", ("AWS::SQS::",)),
    (r"api gateway", ("AWS::ApiGateway::", "AWS::ApiGatewayV2::", "AWS::Serverless::Api")),
    (r"cognito", ("AWS::Cognito::",)),
    (r"step functions", ("AWS::StepFunctions::", "AWS::Serverless::StateMachine")),
    (r"\bkms\b|key management", ("AWS::KMS::",)),
    (r"bedrock", ("AWS::Bedrock::",)),
    (r"\biam\b", ("AWS::IAM::",)),
    (r"cloudwatch", ("AWS::Logs::", "AWS::CloudWatch::")),
)


def architecture_coverage(
    architecture: Architecture, template: CloudFormationTemplate
) -> ArchitectureCoverage:
    """Which services of the architecture the template's resources implement (by resource type)."""
    types = list(template.resource_types().values())
    covered: list[str] = []
    missing: list[str] = []
    unchecked: list[str] = []
    for service in architecture.services:
        prefixes = [
            p for pattern, ps in SERVICE_RESOURCES if re.search(pattern, service.name, re.I) for p in ps
        ]
        if not prefixes:
            unchecked.append(service.name)
        elif any(kind.startswith(tuple(prefixes)) for kind in types):
            covered.append(service.name)
        else:
            missing.append(service.name)
    return ArchitectureCoverage(covered=covered, missing=missing, unchecked=unchecked)


lambda_handler = PersistedAction(app, agent_name=Agent.SOLUTION_ARCHITECT)
