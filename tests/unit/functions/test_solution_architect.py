"""The solution-architect function, in-process on the in-memory runtime, driven by committed events."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from autoninja.action import Runtime
from autoninja.conversion import extract_structured
from autoninja.models import Phase, Status
from autoninja.settings import Settings
from tests.support.functions import (
    FUNCTION_ENV,
    action_records,
    envelope_body,
    event_names,
    event_properties,
    lambda_context,
    load_event,
    load_function,
    with_properties,
)

AGENT = "solution-architect"
ANALYST = "requirements-analyst"
JOB = "job-friend-20261203-120000"
OPERATIONS = ("/design-architecture", "/select-services", "/generate-iac")

SMALL_ARCHITECTURE = {
    "summary": "One Lambda function behind a Bedrock agent, with a DynamoDB table for memory",
    "services": [
        "Amazon Bedrock Agents",
        "AWS Lambda",
        "Amazon DynamoDB",
        "Amazon SQS",
        "Amazon Rekognition",
    ],
}
TABLE_ONLY = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Memory": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
    },
}


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return Runtime.in_memory(Settings.from_env())


@pytest.fixture
def function(runtime: Runtime) -> ModuleType:
    module = load_function(AGENT)
    module.lambda_handler.runtime = runtime
    return module


@pytest.fixture
def analyst(runtime: Runtime) -> ModuleType:
    """The requirements analyst on the same runtime, for the demo's earlier steps."""
    module = load_function(ANALYST)
    module.lambda_handler.runtime = runtime
    return module


def invoke(function: ModuleType, event: dict[str, Any], agent: str = AGENT) -> dict[str, Any]:
    response: dict[str, Any] = function.lambda_handler(event, lambda_context(agent))
    return response


def run(function: ModuleType, name: str, agent: str = AGENT) -> Any:
    """Invoke the committed event ``name`` of ``agent``, check it succeeded, and return the body."""
    event = load_event(agent, name)
    return envelope_body(invoke(function, event, agent), event, 200)


def stored(runtime: Runtime, filename: str) -> Any:
    return runtime.artifacts.get_json(JOB, Phase.ARCHITECTURE, AGENT, filename)


def exists(runtime: Runtime, filename: str) -> bool:
    return runtime.artifacts.exists(JOB, Phase.ARCHITECTURE, AGENT, filename)


def uri(runtime: Runtime, filename: str, phase: str = "architecture", agent: str = AGENT) -> str:
    return f"s3://{runtime.settings.artifact_bucket}/{JOB}/{phase}/{agent}/{filename}"


def last_record(runtime: Runtime) -> Any:
    return action_records(runtime, AGENT)[-1]


# -- /design-architecture --------------------------------------------------------------------------


def test_design_architecture_stores_the_raw_answer_and_the_architecture(
    function: ModuleType, analyst: ModuleType, runtime: Runtime
) -> None:
    # Given the requirements the demo's first step stored
    run(analyst, "extract-requirements", ANALYST)
    event = load_event(AGENT, "design-architecture")

    # When
    body = envelope_body(invoke(function, event), event, 200)

    # Then
    architecture = body["architecture"]
    names = [service["name"] for service in architecture["services"]]
    assert names[:3] == ["Amazon Bedrock Agents", "Guardrails for Amazon Bedrock", "AWS Lambda"]
    assert architecture["cost_estimate"].startswith("Under $15")  # extra keys are kept
    assert body["requirements_source"] == uri(runtime, "requirements.json", "requirements", ANALYST)
    assert stored(runtime, "architecture.json") == architecture
    raw = stored(runtime, "design-architecture_raw_response.json")
    assert raw["raw_text"] == event_properties(event)["architecture"]
    assert raw["field"] == "architecture"
    record = last_record(runtime)
    assert record.status == Status.SUCCESS
    assert json.loads(record.prompt) == event
    assert json.loads(record.response) == body
    assert record.artifacts_s3_uri == [
        uri(runtime, "design-architecture_raw_response.json"),
        uri(runtime, "architecture.json"),
    ]


def test_design_architecture_keeps_the_code_file_references(function: ModuleType, runtime: Runtime) -> None:
    references = {"memory-actions": "s3://autoninja-test-artifacts/x/code/code-generator/lambda_code.json"}
    event = with_properties(
        load_event(AGENT, "design-architecture"),
        requirements=json.dumps(
            {"agent_purpose": "A friendly chat agent", "functional_requirements": ["Chat"]}
        ),
        code_file_references=json.dumps(references),
    )

    body = envelope_body(invoke(function, event), event, 200)

    assert body["requirements_source"] == "request"
    assert stored(runtime, "architecture.json")["code_file_references"] == references


def test_design_architecture_without_requirements_is_404_but_keeps_the_raw_answer(
    function: ModuleType, runtime: Runtime
) -> None:
    event = load_event(AGENT, "design-architecture")

    body = envelope_body(invoke(function, event), event, 404)

    assert "run requirements-analyst /extract-requirements for this job first" in body["message"]
    assert exists(runtime, "design-architecture_raw_response.json")
    assert not exists(runtime, "architecture.json")
    record = last_record(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "ArtifactNotFoundError")
    assert record.artifacts_s3_uri == [uri(runtime, "design-architecture_raw_response.json")]


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("I'd suggest a serverless design with Lambda and DynamoDB.", "no JSON found"),
        (
            '```json\n{"summary": "Serverless friend agent design", "services": []}\n```',
            "services: List should",
        ),
        ('```json\n{"services": ["AWS Lambda"]}\n```', "summary: Field required"),
    ],
)
def test_design_architecture_rejects_answers_that_are_not_an_architecture(
    function: ModuleType, runtime: Runtime, answer: str, fragment: str
) -> None:
    event = with_properties(
        load_event(AGENT, "design-architecture"),
        requirements=json.dumps(
            {"agent_purpose": "A friendly chat agent", "functional_requirements": ["Chat"]}
        ),
        architecture=answer,
    )

    body = envelope_body(invoke(function, event), event, 422)

    assert fragment in body["message"]
    assert stored(runtime, "design-architecture_raw_response.json")["raw_text"] == answer
    assert not exists(runtime, "architecture.json")
    assert last_record(runtime).error_type == "ConversionError"


# -- /select-services ------------------------------------------------------------------------------


def test_select_services_maps_the_stored_requirements_to_services(
    function: ModuleType, analyst: ModuleType, runtime: Runtime
) -> None:
    run(analyst, "extract-requirements", ANALYST)
    event = load_event(AGENT, "select-services")
    assert "requirements" not in event_properties(event)

    body = envelope_body(invoke(function, event), event, 200)

    selection = body["selection"]
    services = {item["service"]: item for item in selection["services"]}
    assert list(services) == [
        "Amazon Bedrock Agents",
        "AWS Lambda",
        "AWS IAM",
        "Amazon CloudWatch",
        "Amazon DynamoDB",
        "Amazon EventBridge Scheduler",
        "AWS KMS",
        "Guardrails for Amazon Bedrock",
    ]
    assert services["AWS Lambda"]["matched"] == []  # every agent needs it
    assert "non_functional_requirements: encrypt, kms" in services["AWS KMS"]["matched"]
    assert any("crisis" in m for m in services["Guardrails for Amazon Bedrock"]["matched"])
    assert selection["requirements_source"] == uri(runtime, "requirements.json", "requirements", ANALYST)
    assert stored(runtime, "services.json") == selection
    assert last_record(runtime).artifacts_s3_uri == [uri(runtime, "services.json")]


def test_select_services_follows_what_the_requirements_say(function: ModuleType) -> None:
    requirements = {
        "agent_purpose": "A travel assistant for a mobile app",
        "functional_requirements": [
            "Users sign in with their account",
            "Users upload photos of receipts",
            "Send an SMS when a booking changes",
        ],
    }
    event = with_properties(load_event(AGENT, "select-services"), requirements=json.dumps(requirements))

    body = envelope_body(invoke(function, event), event, 200)

    chosen = {item["service"] for item in body["selection"]["services"]}
    assert {"Amazon Cognito", "Amazon S3", "Amazon SNS", "Amazon API Gateway"} <= chosen
    assert not chosen & {"Amazon DynamoDB", "Amazon EventBridge Scheduler", "AWS KMS"}
    assert body["selection"]["requirements_source"] == "request"


def test_select_services_rejects_requirements_that_are_not_requirements(function: ModuleType) -> None:
    event = with_properties(load_event(AGENT, "select-services"), requirements='{"features": ["chat"]}')

    body = envelope_body(invoke(function, event), event, 400)

    assert "functional_requirements: Field required" in body["message"]


# -- /generate-iac ---------------------------------------------------------------------------------


def test_generate_iac_stores_the_template_as_canonical_json(
    function: ModuleType, analyst: ModuleType, runtime: Runtime
) -> None:
    # Given the demo's steps so far: requirements, then the architecture
    run(analyst, "extract-requirements", ANALYST)
    run(function, "design-architecture")
    event = load_event(AGENT, "generate-iac")
    assert "architecture" not in event_properties(event)

    # When
    body = envelope_body(invoke(function, event), event, 200)

    # Then the YAML was parsed with its short-form tags, and stored as JSON
    template = stored(runtime, "template.json")
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    table = template["Resources"]["FriendMemoryTable"]
    assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "FriendDataKey"}
    assert table["Properties"]["TableName"] == {"Fn::Sub": "friend-memory-${Environment}"}
    role = template["Resources"]["MemoryFunction"]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": ["MemoryFunctionRole", "Arn"]}
    model_text = event_properties(event)["cloudformation_template"]
    assert template == extract_structured(model_text)
    assert body["resources"]["FriendAgent"] == "AWS::Bedrock::Agent"
    assert len(body["resources"]) == 15
    assert body["outputs"] == ["AgentAliasId", "AgentId", "MemoryFunctionArn", "MemoryTableName"]
    assert body["architecture_source"] == uri(runtime, "architecture.json")
    assert body["architecture_coverage"]["missing"] == []
    assert body["warnings"] == []
    raw = stored(runtime, "generate-iac_raw_response.json")
    assert raw["raw_text"] == model_text
    assert json.loads(raw["request"]["code_references"])["memory-actions"].endswith("lambda_code.json")
    assert last_record(runtime).artifacts_s3_uri == [
        uri(runtime, "generate-iac_raw_response.json"),
        uri(runtime, "template.json"),
    ]


def test_generate_iac_reports_architecture_services_the_template_does_not_create(
    function: ModuleType, runtime: Runtime
) -> None:
    event = with_properties(
        load_event(AGENT, "generate-iac"),
        architecture=json.dumps(SMALL_ARCHITECTURE),
        cloudformation_template=json.dumps(TABLE_ONLY),
    )

    body = envelope_body(invoke(function, event), event, 200)

    coverage = body["architecture_coverage"]
    assert coverage == {
        "covered": ["Amazon DynamoDB"],
        "missing": ["Amazon Bedrock Agents", "AWS Lambda", "Amazon SQS"],
        "unchecked": ["Amazon Rekognition"],
    }
    assert len(body["warnings"]) == 3
    assert body["architecture_source"] == "request"
    assert stored(runtime, "template.json") == TABLE_ONLY


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ({"Resources": {}}, "Resources: Dictionary should have at least 1 item"),
        ({"AWSTemplateFormatVersion": "2010-09-09"}, "Resources: Field required"),
        ({"Resources": {"Table": {"Properties": {}}}}, "Resources.Table.Type: Field required"),
        ({"Resources": {"Table": {"Type": "DynamoDB Table"}}}, "Resources.Table.Type: String should match"),
        ({"resources": {"T": {"Type": "AWS::SQS::Queue"}}}, "resources: Extra inputs are not permitted"),
        (
            {"Resources": {"T": {"Type": "AWS::SQS::Queue", "properties": {}}}},
            "Resources.T.properties: Extra inputs are not permitted",
        ),
        (
            {"Resources": {"my-table": {"Type": "AWS::SQS::Queue"}}},
            "logical ID 'my-table' must be alphanumeric",
        ),
        (
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Name"}}}}},
            "Resources.Q.Properties.QueueName.Ref: Ref 'Name' is not defined",
        ),
        (
            {
                "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"A": {"Value": {"Fn::GetAtt": "X.Arn"}}},
            },
            "Fn::GetAtt 'X' is not defined",
        ),
        (
            {
                "Resources": {
                    "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "q-${Env}"}}}
                }
            },
            "${} 'Env' is not defined",
        ),
        (
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DependsOn": "Table"}}},
            "'Table' is not a resource",
        ),
        ({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"A": {"Description": "x"}}}, "Value"),
    ],
)
def test_generate_iac_rejects_templates_cloudformation_would_reject(
    function: ModuleType, runtime: Runtime, template: dict[str, Any], fragment: str
) -> None:
    event = with_properties(
        load_event(AGENT, "generate-iac"),
        architecture=json.dumps(SMALL_ARCHITECTURE),
        cloudformation_template=f"```json\n{json.dumps(template)}\n```",
    )

    body = envelope_body(invoke(function, event), event, 422)

    assert body["error"] == "ConversionError"
    assert fragment in body["message"]
    assert exists(runtime, "generate-iac_raw_response.json")
    assert not exists(runtime, "template.json")
    assert last_record(runtime).error_type == "ConversionError"


def test_generate_iac_accepts_pseudo_parameters_and_sub_variables(
    function: ModuleType, runtime: Runtime
) -> None:
    template = (
        "Resources:\n"
        "  Queue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub\n"
        "        - '${Prefix}-${AWS::Region}-${AWS::StackName}'\n"
        "        - Prefix: friend\n"
        "      Tags:\n"
        "        - Key: account\n"
        "          Value: !Ref AWS::AccountId\n"
    )
    event = with_properties(
        load_event(AGENT, "generate-iac"),
        architecture=json.dumps(SMALL_ARCHITECTURE),
        cloudformation_template=f"```yaml\n{template}```",
    )

    envelope_body(invoke(function, event), event, 200)

    queue = stored(runtime, "template.json")["Resources"]["Queue"]["Properties"]
    assert queue["QueueName"] == {
        "Fn::Sub": ["${Prefix}-${AWS::Region}-${AWS::StackName}", {"Prefix": "friend"}]
    }
    assert queue["Tags"][0]["Value"] == {"Ref": "AWS::AccountId"}


# -- invalid events --------------------------------------------------------------------------------

INVALID_EVENTS = {
    "invalid/missing-job-name": (400, "InvalidRequest", "job_name: Field required"),
    "invalid/bad-job-name": (400, "InvalidRequest", "does not match job-{keyword}-{YYYYMMDD-HHMMSS}"),
    "invalid/unknown-api-path": (404, "UnknownOperation", "/estimate-cost is not an operation"),
    "invalid/architecture-not-json": (400, "InvalidRequest", "architecture: Invalid JSON"),
    "invalid/unconvertible-template": (
        422,
        "ConversionError",
        "Resources.FriendMemoryTable.Type: Field required",
    ),
}


def test_every_committed_invalid_event_has_an_expectation() -> None:
    assert event_names(AGENT, "invalid") == sorted(INVALID_EVENTS)


@pytest.mark.parametrize("name", sorted(INVALID_EVENTS))
def test_invalid_events_get_a_4xx_envelope_and_an_error_record(
    function: ModuleType, runtime: Runtime, name: str
) -> None:
    status, error, fragment = INVALID_EVENTS[name]
    event = load_event(AGENT, name)

    body = envelope_body(invoke(function, event), event, status)

    assert body["error"] == error
    assert fragment in body["message"]
    (record,) = action_records(runtime, AGENT)
    assert record.status == Status.ERROR
    assert record.error_type
    assert json.loads(record.prompt) == event


def test_an_unconvertible_template_keeps_the_raw_answer(function: ModuleType, runtime: Runtime) -> None:
    event = load_event(AGENT, "invalid/unconvertible-template")

    envelope_body(invoke(function, event), event, 422)

    raw = stored(runtime, "generate-iac_raw_response.json")
    assert raw["raw_text"] == event_properties(event)["cloudformation_template"]
    assert last_record(runtime).artifacts_s3_uri == [uri(runtime, "generate-iac_raw_response.json")]


# -- the function's contract -----------------------------------------------------------------------


def test_every_operation_has_a_committed_event_in_bedrock_shape(function: ModuleType) -> None:
    assert sorted(route.path for route in function.app._static_routes) == sorted(OPERATIONS)
    for path in OPERATIONS:
        event = load_event(AGENT, path.strip("/"))
        assert (event["apiPath"], event["httpMethod"], event["messageVersion"]) == (path, "POST", "1.0")
        assert set(event["agent"]) == {"name", "id", "alias", "version"}
        assert event["sessionId"] == "demo-session-friend"
        properties = event["requestBody"]["content"]["application/json"]["properties"]
        assert all(p["type"] == "string" and isinstance(p["value"], str) for p in properties)
        assert event_properties(event)["job_name"] == JOB


def test_the_agent_openapi_schema_describes_every_operation(function: ModuleType) -> None:
    schema = json.loads(function.app.get_openapi_json_schema(title=AGENT))

    for path in OPERATIONS:
        operation = schema["paths"][path]["post"]
        assert operation["operationId"]
        assert len(operation["description"]) > 80
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        request = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert "job_name" in request["required"]
        for name, prop in request["properties"].items():
            assert prop["type"] == "string", name
            assert prop.get("description"), name
