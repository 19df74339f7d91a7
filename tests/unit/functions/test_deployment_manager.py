"""The deployment-manager function, in-process on the in-memory runtime, against moto in-process.

CloudFormation and bedrock-agent's CreateAgent/GetAgent/DeleteAgent are moto's. Where the embedded
emulator (moto server 5.2.5) lacks an API, it answers HTTP 500 with an HTML page and no AWS error code;
:func:`answer_like_moto_server` makes an operation answer exactly those bytes, so the function is tested
against the answer it really gets (checked by hand against ``moto_server``). A successful agent
configuration, a failed stack and agent answers are scripted with botocore's ``Stubber`` or a fake
client, since the emulator cannot produce them.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from botocore.parsers import create_parser
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse

from autoninja.action import Runtime
from autoninja.conversion import extract_structured
from autoninja.deployment import (
    AgentInvocationError,
    AgentProvisioner,
    AgentTester,
    DeploymentServices,
    ResourceConflictError,
    ServiceUnavailableError,
    StackDeployer,
    translate_client_error,
)
from autoninja.documents import CloudFormationTemplate
from autoninja.errors import ConfigurationError, InvalidInputError, NotFoundError, UnsupportedOperationError
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

AGENT = "deployment-manager"
JOB = "job-friend-20261203-120000"
REGION = "us-east-1"
#: One attempt per call: the unsupported-API answers would otherwise be retried with backoff.
NO_RETRIES = Config(region_name=REGION, retries={"total_max_attempts": 1})
#: What moto server 5.2.5 answers (HTTP 500) for an operation it has not implemented.
MOTO_SERVER_500 = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to "
    b"complete your request. Either the server is overloaded or there is an error in the application.</p>\n"
)
ROLE_ARN = "arn:aws:iam::123456789012:role/friend-companion-agent-dev"
MEMORY_ARN = "arn:aws:lambda:us-east-1:123456789012:function:friend-memory-actions-dev"


def answer_like_moto_server(client: Any, operation: str) -> None:
    """Make ``operation`` answer what moto server answers for an API it lacks: HTTP 500, an HTML page.

    botocore parses those bytes with the service's own parser, exactly as it does off the wire; the
    request never reaches moto in-process (``before-call`` short-circuits it, as ``Stubber`` does).
    """
    parser = create_parser(client.meta.service_model.protocol)
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(MOTO_SERVER_500))}

    def respond(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        http = AWSResponse("http://127.0.0.1:4566", 500, headers, MockRawResponse(MOTO_SERVER_500))
        raw = {"status_code": 500, "headers": http.headers, "body": MOTO_SERVER_500, "context": {}}
        parsed: dict[str, Any] = parser.parse(raw, model.output_shape)
        return http, parsed

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", respond)


# -- fixtures --------------------------------------------------------------------------------------


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
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def use_services(
    function: ModuleType, monkeypatch: pytest.MonkeyPatch, **adapters: Any
) -> DeploymentServices:
    """Give the function these adapters (the others over moto clients made now, inside the mock)."""
    services = DeploymentServices(
        stacks=adapters.pop("stacks", None)
        or StackDeployer(boto3.client("cloudformation", config=NO_RETRIES), wait_seconds=10, poll_seconds=1),
        agents=adapters.pop("agents", None)
        or AgentProvisioner(
            boto3.client("bedrock-agent", config=NO_RETRIES), poll_seconds=0, sleep=lambda _: None
        ),
        tester=adapters.pop("tester", None)
        or AgentTester(boto3.client("bedrock-agent-runtime", config=NO_RETRIES)),
        agent_role_arn=adapters.pop("agent_role_arn", None),
    )
    assert not adapters, f"unknown adapters {adapters}"
    monkeypatch.setattr(function, "services", lambda: services)
    return services


@pytest.fixture
def services(aws: None, function: ModuleType, monkeypatch: pytest.MonkeyPatch) -> DeploymentServices:
    return use_services(function, monkeypatch)


def invoke(function: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = function.lambda_handler(event, lambda_context(AGENT))
    return response


def stored(runtime: Runtime, filename: str) -> Any:
    return runtime.artifacts.get_json(JOB, Phase.DEPLOYMENT, AGENT, filename)


def uri(runtime: Runtime, filename: str) -> str:
    return f"s3://{runtime.settings.artifact_bucket}/{JOB}/deployment/{AGENT}/{filename}"


def only_record(runtime: Runtime) -> Any:
    (record,) = action_records(runtime, AGENT)
    return record


def demo_document(agent: str, operation: str, field: str) -> Any:
    """A document of the demo as the other agents store it, from their committed events."""
    return extract_structured(event_properties(load_event(agent, operation))[field])


def store_for_job(runtime: Runtime, phase: Phase, agent: str, filename: str, content: Any) -> str:
    return runtime.artifacts.put(JOB, phase, agent, filename, content).uri


def store_openapi_schema(runtime: Runtime) -> dict[str, Any]:
    schema: dict[str, Any] = demo_document("code-generator", "generate-openapi-schema", "openapi_schema")
    store_for_job(runtime, Phase.CODE, "code-generator", "openapi_schema.json", schema)
    return schema


# -- the committed events --------------------------------------------------------------------------


@pytest.mark.parametrize("name", event_names(AGENT) + event_names(AGENT, "invalid"))
def test_committed_events_have_the_shape_bedrock_sends(name: str) -> None:
    event = load_event(AGENT, name)
    assert event["messageVersion"] == "1.0"
    assert set(event["agent"]) == {"name", "id", "alias", "version"}
    assert (event["httpMethod"], event["parameters"], event["sessionId"]) == (
        "POST",
        [],
        "demo-session-friend",
    )
    assert event["sessionAttributes"] == {} and event["promptSessionAttributes"] == {}
    properties = event["requestBody"]["content"]["application/json"]["properties"]
    assert all(set(p) == {"name", "type", "value"} and p["type"] == "string" for p in properties)


def test_every_operation_has_a_committed_event(function: ModuleType) -> None:
    paths = set(json.loads(function.app.get_openapi_json_schema())["paths"])
    assert paths == {"/generate-cloudformation", "/deploy-stack", "/configure-agent", "/test-deployment"}
    assert {f"/{name}" for name in event_names(AGENT)} == paths


# -- /generate-cloudformation ----------------------------------------------------------------------


def test_generate_builds_a_deployable_template_around_the_code(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the demo's code and architecture, with no template stored for the job
    event = load_event(AGENT, "generate-cloudformation")

    # When the template is generated
    body = envelope_body(invoke(function, event), event, 200)

    # Then the handler runs inline in a new function, with a role, a retained log group and the permission
    template = stored(runtime, "cloudformation_template.json")
    assert body["template"] == template
    assert body["template_uri"] == uri(runtime, "cloudformation_template.json")
    assert body["added_resources"] == [
        "AgentActionFunction",
        "AgentActionFunctionLogGroup",
        "AgentActionFunctionRole",
        "AgentActionFunctionRoleLogsPolicy",
        "AgentActionFunctionBedrockPermission",
    ]
    function_properties = template["Resources"]["AgentActionFunction"]["Properties"]
    code = json.loads(event_properties(event)["code"])["lambda_function.py"]
    assert function_properties["Code"] == {"ZipFile": code}
    assert function_properties["Handler"] == "index.lambda_handler" == body["handler"]
    assert template["Resources"]["AgentActionFunctionLogGroup"]["Properties"]["RetentionInDays"] == 30
    assert template["Resources"]["AgentActionFunctionBedrockPermission"]["Properties"]["Principal"] == (
        "bedrock.amazonaws.com"
    )
    # the code reads MEMORY_TABLE, and this template has no table to point it at: said, not hidden
    assert body["unresolved_environment"] == ["MEMORY_TABLE"]
    assert body["sources"]["template"] == "absent" and body["sources"]["code"] == "request"
    CloudFormationTemplate.model_validate(template)
    record = only_record(runtime)
    assert record.status == Status.SUCCESS
    assert json.loads(record.prompt) == event
    assert record.artifacts_s3_uri == [body["template_uri"]]


def test_generate_puts_the_stored_code_into_the_architects_function(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the architect's template, the generated code and passing validation reports are stored
    architect = demo_document("solution-architect", "generate-iac", "cloudformation_template")
    template_uri = store_for_job(
        runtime, Phase.ARCHITECTURE, "solution-architect", "template.json", architect
    )
    code = json.loads(event_properties(load_event(AGENT, "generate-cloudformation"))["code"])
    code_uri = store_for_job(runtime, Phase.CODE, "code-generator", "lambda_code.json", code)
    for report in ("code_validation.json", "security_scan.json", "compliance_report.json"):
        store_for_job(runtime, Phase.VALIDATION, "quality-validator", report, {"passed": True})
    event = with_properties(load_event(AGENT, "generate-cloudformation"), code=None, architecture=None)

    body = envelope_body(invoke(function, event), event, 200)

    # Then the memory function runs the code inline; the architect's own role, logs and permission stay
    template = stored(runtime, "cloudformation_template.json")
    memory = template["Resources"]["MemoryFunction"]["Properties"]
    assert body["function"] == "MemoryFunction"
    assert memory["Code"] == {"ZipFile": code["lambda_function.py"]}
    assert memory["Role"] == {"Fn::GetAtt": ["MemoryFunctionRole", "Arn"]}
    assert body["added_resources"] == []
    assert body["unresolved_environment"] == []
    assert template["Resources"]["CheckinFunction"] == architect["Resources"]["CheckinFunction"]
    assert (body["sources"]["template"], body["sources"]["code"]) == (template_uri, code_uri)
    assert body["validation"]["stored_reports"] == dict.fromkeys(
        ("code_validation.json", "security_scan.json", "compliance_report.json"), True
    )


def test_generate_packages_several_files_next_to_the_template(function: ModuleType, runtime: Runtime) -> None:
    files = {
        "app.py": "from helpers import reply\n\n\ndef lambda_handler(event, context):\n"
        "    return reply(event)\n",
        "helpers.py": "def reply(event):\n    return {'messageVersion': '1.0'}\n",
    }
    event = with_properties(load_event(AGENT, "generate-cloudformation"), code=json.dumps(files))

    body = envelope_body(invoke(function, event), event, 200)

    assert body["code_delivery"] == "s3" and body["handler"] == "app.lambda_handler"
    package = runtime.artifacts.get(JOB, Phase.DEPLOYMENT, AGENT, "lambda_package.zip")
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert {name: archive.read(name).decode() for name in archive.namelist()} == files
    parameters = stored(runtime, "cloudformation_template.json")["Parameters"]
    assert parameters["LambdaCodeBucket"]["Default"] == runtime.settings.artifact_bucket
    assert parameters["LambdaCodeKey"]["Default"] == f"{JOB}/deployment/{AGENT}/lambda_package.zip"
    assert body["package_uri"] == uri(runtime, "lambda_package.zip")


def test_generated_template_really_deploys(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    event = load_event(AGENT, "generate-cloudformation")
    generated = envelope_body(invoke(function, event), event, 200)
    deploy = with_properties(
        load_event(AGENT, "deploy-stack"),
        cloudformation_template=generated["template_uri"],
        stack_name="friend-generated",
        parameters=None,
    )

    body = envelope_body(invoke(function, deploy), deploy, 200)

    assert body["status"] == "CREATE_COMPLETE"
    deployed = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName=body["outputs"]["AgentActionFunctionArn"]
    )
    assert deployed["Configuration"]["Handler"] == "index.lambda_handler"


def test_generate_refuses_code_that_failed_validation(function: ModuleType, runtime: Runtime) -> None:
    event = load_event(AGENT, "invalid/failed-validation-status")

    body = envelope_body(invoke(function, event), event, 409)

    assert body["error"] == "DeploymentRefusedError"
    assert "failed validation" in body["message"]
    record = only_record(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "DeploymentRefusedError")
    assert record.artifacts_s3_uri == []
    assert list(runtime.artifacts.list(JOB, Phase.DEPLOYMENT, AGENT)) == []


def test_generate_refuses_when_a_stored_report_contradicts_the_status(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the agent says "passed" but the job's stored security scan says otherwise
    store_for_job(runtime, Phase.VALIDATION, "quality-validator", "security_scan.json", {"passed": False})
    event = with_properties(load_event(AGENT, "generate-cloudformation"), validation_status="passed")

    body = envelope_body(invoke(function, event), event, 409)

    assert "security_scan.json" in body["message"]


# -- /deploy-stack ---------------------------------------------------------------------------------


def test_deploy_stack_really_creates_the_stack(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    # Given the demo's memory stack
    event = load_event(AGENT, "deploy-stack")

    # When it is deployed
    body = envelope_body(invoke(function, event), event, 200)

    # Then the stack is complete, its outputs are reported, and the resources exist
    assert (body["stack_name"], body["operation"], body["status"]) == (
        "friend-companion-dev",
        "create",
        "CREATE_COMPLETE",
    )
    assert body["outputs"]["MemoryTableName"] == "friend-memory-dev"
    assert body["outputs"]["MemoryFunctionArn"] == MEMORY_ARN
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="friend-memory-dev")[
        "Table"
    ]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["user_id", "sk"]
    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(
        StackName="friend-companion-dev"
    )
    assert {"Key": "autoninja:job", "Value": JOB} in stack["Stacks"][0]["Tags"]
    report = stored(runtime, "deployment.json")
    assert report["status"] == "deployed" and report["outputs"] == body["outputs"]
    assert [step["operation"] for step in report["trail"]["steps"]] == ["CreateStack"]
    record = only_record(runtime)
    assert record.status == Status.SUCCESS
    assert record.artifacts_s3_uri == [body["deployment_uri"]]
    assert json.loads(record.response) == body


def test_deploying_again_updates_only_what_changed(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    event = load_event(AGENT, "deploy-stack")
    invoke(function, event)

    unchanged = envelope_body(invoke(function, event), event, 200)
    assert (unchanged["operation"], unchanged["status"]) == ("none", "CREATE_COMPLETE")

    template = json.loads(event_properties(event)["cloudformation_template"])
    template["Outputs"]["MemoryTableArn"] = {"Value": {"Fn::GetAtt": ["FriendMemoryTable", "Arn"]}}
    changed = with_properties(event, cloudformation_template=json.dumps(template))
    updated = envelope_body(invoke(function, changed), changed, 200)
    assert (updated["operation"], updated["status"]) == ("update", "UPDATE_COMPLETE")
    assert updated["outputs"]["MemoryTableArn"].endswith(":table/friend-memory-dev")


def test_deploy_stack_applies_the_configured_prefix(
    aws: None, function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer = StackDeployer(boto3.client("cloudformation", config=NO_RETRIES), stack_prefix="autoninja-")
    use_services(function, monkeypatch, stacks=deployer)
    event = load_event(AGENT, "deploy-stack")
    body = envelope_body(invoke(function, event), event, 200)
    assert body["stack_name"] == "autoninja-friend-companion-dev"


UNSUPPORTED_TEMPLATE = {
    "Resources": {
        "Inbox": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "friend-inbox"}},
        "FriendAgent": {
            "Type": "AWS::Bedrock::Agent",
            "Properties": {"AgentName": "friend-companion", "FoundationModel": "anthropic.claude-3-haiku"},
        },
    }
}


@pytest.mark.filterwarnings("ignore:Tried to parse AWS.{2}Bedrock.{2}Agent but it.s not supported")
def test_resources_the_target_did_not_create_are_no_success(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    # Given a template with a resource type the emulator's CloudFormation skips while reporting success
    event = with_properties(
        load_event(AGENT, "deploy-stack"),
        cloudformation_template=json.dumps(UNSUPPORTED_TEMPLATE),
        parameters=None,
    )

    body = envelope_body(invoke(function, event), event, 501)

    assert "did not create FriendAgent (AWS::Bedrock::Agent)" in body["message"]
    assert "the stack exists with: Inbox (AWS::SQS::Queue)" in body["message"]
    report = stored(runtime, "deployment.json")
    assert report["status"] == "failed" and report["error_type"] == "UnsupportedOperationError"
    assert [r["type"] for r in report["trail"]["created"]] == ["AWS::CloudFormation::Stack"]
    record = only_record(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "UnsupportedOperationError")
    assert record.artifacts_s3_uri == [uri(runtime, "deployment.json")]


def test_an_endpoint_that_cannot_handle_create_stack_is_a_501(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    answer_like_moto_server(services.stacks.client, "CreateStack")
    event = load_event(AGENT, "deploy-stack")

    body = envelope_body(invoke(function, event), event, 501)

    assert body["message"].startswith(
        "cloudformation CreateStack could not be handled by the target endpoint"
    )
    assert only_record(runtime).error_type == "UnsupportedOperationError"


def _stack(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "StackName": "friend-companion-dev",
        "StackId": "arn:stack",
        "CreationTime": datetime.now(UTC),
        "StackStatus": status,
        **extra,
    }


def _event(logical_id: str, kind: str, status: str, reason: str = "") -> dict[str, Any]:
    event = {
        "StackId": "arn:stack",
        "EventId": f"{logical_id}-{status}",
        "StackName": "friend-companion-dev",
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "ResourceStatus": status,
        "Timestamp": datetime.now(UTC),
    }
    return event | ({"ResourceStatusReason": reason} if reason else {})


def test_a_failed_stack_is_an_error_with_cloudformations_reason(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given CloudFormation rolls the stack back because the table cannot be created
    client = boto3.client("cloudformation", config=NO_RETRIES)
    stubber = Stubber(client)
    missing = "Stack with id friend-companion-dev does not exist"
    stubber.add_client_error("describe_stacks", "ValidationError", missing, 400)
    stubber.add_response("create_stack", {"StackId": "arn:stack"})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("ROLLBACK_COMPLETE")]})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("ROLLBACK_COMPLETE")]})
    reason = 'Resource handler returned message: "Table already exists: friend-memory-dev"'
    stack_type = "AWS::CloudFormation::Stack"
    events = [
        _event("friend-companion-dev", stack_type, "ROLLBACK_COMPLETE"),
        _event("FriendMemoryTable", "AWS::DynamoDB::Table", "DELETE_COMPLETE"),
        _event("MemoryFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Resource creation cancelled"),
        _event("FriendMemoryTable", "AWS::DynamoDB::Table", "CREATE_FAILED", reason),
        _event("friend-companion-dev", stack_type, "CREATE_IN_PROGRESS", "User Initiated"),
        _event("friend-companion-dev", stack_type, "DELETE_FAILED", "an earlier operation"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": events})
    use_services(function, monkeypatch, stacks=StackDeployer(client, wait_seconds=1, poll_seconds=1))
    event = load_event(AGENT, "deploy-stack")

    with stubber:
        body = envelope_body(invoke(function, event), event, 422)

    # Then the error names the cause first, and nothing from earlier operations
    assert body["error"] == "DeploymentFailedError"
    assert body["message"] == (
        "stack friend-companion-dev create ended ROLLBACK_COMPLETE: FriendMemoryTable (AWS::DynamoDB::Table) "
        f"CREATE_FAILED: {reason}; MemoryFunction (AWS::Lambda::Function) CREATE_FAILED: Resource creation "
        "cancelled"
    )
    report = stored(runtime, "deployment.json")
    assert report["status"] == "failed" and report["error"] == body["message"]
    assert only_record(runtime).error_type == "DeploymentFailedError"


QUEUE_TEMPLATE = json.dumps({"Resources": {"Inbox": {"Type": "AWS::SQS::Queue"}}})
MISSING = "Stack with id friend-companion-dev does not exist"


def stubbed_deployer(function: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("cloudformation", config=NO_RETRIES)
    use_services(function, monkeypatch, stacks=StackDeployer(client, wait_seconds=1, poll_seconds=1))
    return Stubber(client)


def queue_event() -> dict[str, Any]:
    return with_properties(
        load_event(AGENT, "deploy-stack"), cloudformation_template=QUEUE_TEMPLATE, parameters=None
    )


def test_a_stack_left_by_a_failed_creation_is_replaced(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stubbed_deployer(function, monkeypatch)
    stubber.add_response("describe_stacks", {"Stacks": [_stack("ROLLBACK_COMPLETE")]})
    stubber.add_response("delete_stack", {}, {"StackName": "friend-companion-dev"})
    stubber.add_client_error("describe_stacks", "ValidationError", MISSING, 400)  # the delete waiter: gone
    stubber.add_response("create_stack", {"StackId": "arn:stack"})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE")]})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE")]})
    summary = {
        "LogicalResourceId": "Inbox",
        "PhysicalResourceId": "https://sqs/inbox",
        "ResourceType": "AWS::SQS::Queue",
        "ResourceStatus": "CREATE_COMPLETE",
        "LastUpdatedTimestamp": datetime.now(UTC),
    }
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [summary]})
    event = queue_event()

    with stubber:
        body = envelope_body(invoke(function, event), event, 200)

    assert (body["operation"], body["status"], body["replaced_failed_stack"]) == (
        "create",
        "CREATE_COMPLETE",
        True,
    )
    steps = [s["operation"] for s in stored(runtime, "deployment.json")["trail"]["steps"]]
    assert steps == ["DeleteStack", "CreateStack"]
    stubber.assert_no_pending_responses()


def test_a_stack_in_progress_is_a_conflict(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stubbed_deployer(function, monkeypatch)
    stubber.add_response("describe_stacks", {"Stacks": [_stack("UPDATE_IN_PROGRESS")]})
    event = queue_event()

    with stubber:
        body = envelope_body(invoke(function, event), event, 409)

    assert (
        body["message"] == "stack friend-companion-dev is UPDATE_IN_PROGRESS; try again once it has settled"
    )
    assert only_record(runtime).error_type == "ResourceConflictError"


def test_a_stack_that_does_not_settle_in_time_is_a_504(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stubbed_deployer(function, monkeypatch)
    stubber.add_client_error("describe_stacks", "ValidationError", MISSING, 400)
    stubber.add_response("create_stack", {"StackId": "arn:stack"})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("CREATE_IN_PROGRESS")]})
    stubber.add_response("describe_stacks", {"Stacks": [_stack("CREATE_IN_PROGRESS")]})
    event = queue_event()

    with stubber:
        body = envelope_body(invoke(function, event), event, 504)

    assert body["message"].startswith("stack friend-companion-dev is still CREATE_IN_PROGRESS after 1 s")
    report = stored(runtime, "deployment.json")
    assert report["status"] == "failed"
    assert report["trail"]["created"] == [
        {"type": "AWS::CloudFormation::Stack", "id": "arn:stack", "name": "friend-companion-dev"}
    ]


DEPLOY_INVALID_PROPERTIES = [
    ({"parameters": json.dumps({"Stage": "dev"})}, "parameters Stage are not declared by the template"),
    ({"parameters": json.dumps({"Environment": {"name": "dev"}})}, "parameters.Environment must be a string"),
    (
        {
            "cloudformation_template": json.dumps(
                {
                    "Resources": {
                        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"Ref": "DLQ"}}}
                    }
                }
            ),
            "parameters": None,
        },
        "Ref 'DLQ' is not defined in the template",
    ),
    (
        {
            "cloudformation_template": json.dumps(
                {"Parameters": {"Owner": {"Type": "String"}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
            ),
            "parameters": None,
        },
        "parameters Owner have no default",
    ),
]


@pytest.mark.parametrize(("changes", "fragment"), DEPLOY_INVALID_PROPERTIES)
def test_deploy_stack_rejects_what_cloudformation_would(
    function: ModuleType,
    runtime: Runtime,
    services: DeploymentServices,
    changes: dict[str, str | None],
    fragment: str,
) -> None:
    event = with_properties(load_event(AGENT, "deploy-stack"), **changes)
    body = envelope_body(invoke(function, event), event, 400)
    assert fragment in body["message"]
    assert boto3.client("cloudformation", region_name=REGION).describe_stacks()["Stacks"] == []


# -- /configure-agent ------------------------------------------------------------------------------


def test_configure_agent_on_the_emulator_is_a_501_that_cleans_up(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    # Given the code generator stored the schema, and an endpoint without CreateAgentActionGroup
    store_openapi_schema(runtime)
    answer_like_moto_server(services.agents.client, "CreateAgentActionGroup")
    event = load_event(AGENT, "configure-agent")

    # When the agent is configured
    body = envelope_body(invoke(function, event), event, 501)

    # Then the answer names the missing API and the endpoint, and the agent it created is gone again
    endpoint = services.agents.endpoint
    assert body["message"].startswith(
        f"bedrock-agent CreateAgentActionGroup is not supported by the target endpoint {endpoint} "
        "(it answered HTTP 500 with no AWS error code)"
    )
    report = stored(runtime, "agent_configuration.json")
    (created,) = report["trail"]["created"]
    assert created["type"] == "AWS::Bedrock::Agent"
    assert report["trail"]["removed"] == [{"type": "AWS::Bedrock::Agent", "id": created["id"]}]
    assert f"created before the failure: AWS::Bedrock::Agent {created['id']}" in body["message"]
    assert f"deleted again: AWS::Bedrock::Agent {created['id']}" in body["message"]
    assert boto3.client("bedrock-agent", region_name=REGION).list_agents()["agentSummaries"] == []
    record = only_record(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "UnsupportedOperationError")
    assert record.error_message == body["message"]
    assert record.artifacts_s3_uri == [uri(runtime, "agent_configuration.json")]


def _agent(status: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "agent": {
            "agentId": "FRNDCMP7QX",
            "agentName": "friend-companion",
            "agentArn": "arn:aws:bedrock:agent",
            "agentVersion": "DRAFT",
            "agentStatus": status,
            "idleSessionTTLInSeconds": 1800,
            "agentResourceRoleArn": ROLE_ARN,
            "createdAt": now,
            "updatedAt": now,
        }
    }


def _alias(status: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "agentAlias": {
            "agentId": "FRNDCMP7QX",
            "agentAliasId": "LIVEALIAS1",
            "agentAliasName": "live",
            "agentAliasArn": "arn:aws:bedrock:alias",
            "agentAliasStatus": status,
            "routingConfiguration": [{"agentVersion": "1"}],
            "createdAt": now,
            "updatedAt": now,
        }
    }


def stubbed_provisioner(function: ModuleType, monkeypatch: pytest.MonkeyPatch, **adapters: Any) -> Stubber:
    client = boto3.client("bedrock-agent", config=NO_RETRIES)
    use_services(
        function,
        monkeypatch,
        agents=AgentProvisioner(client, poll_seconds=0, sleep=lambda _: None),
        stacks=StackDeployer(boto3.client("cloudformation", config=NO_RETRIES)),
        tester=AgentTester(boto3.client("bedrock-agent-runtime", config=NO_RETRIES)),
        **adapters,
    )
    return Stubber(client)


def test_configure_agent_creates_prepares_and_publishes_the_agent(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = store_openapi_schema(runtime)
    stubber = stubbed_provisioner(function, monkeypatch)
    stubber.add_response(
        "create_agent",
        _agent("CREATING"),
        {
            "agentName": "friend-companion",
            "foundationModel": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "instruction": ANY,
            "agentResourceRoleArn": ROLE_ARN,
            "description": ANY,
            "idleSessionTTLInSeconds": 1800,
            "memoryConfiguration": {"enabledMemoryTypes": ["SESSION_SUMMARY"], "storageDays": 30},
            "tags": {"autoninja:job": JOB},
        },
    )
    stubber.add_response("get_agent", _agent("CREATING"), {"agentId": "FRNDCMP7QX"})
    stubber.add_response("get_agent", _agent("NOT_PREPARED"), {"agentId": "FRNDCMP7QX"})
    now = datetime.now(UTC)
    group = {
        "agentActionGroup": {
            "agentId": "FRNDCMP7QX",
            "agentVersion": "DRAFT",
            "actionGroupId": "MEMGROUP01",
            "actionGroupName": "memory-actions",
            "actionGroupState": "ENABLED",
            "createdAt": now,
            "updatedAt": now,
        }
    }
    stubber.add_response(
        "create_agent_action_group",
        group,
        {
            "agentId": "FRNDCMP7QX",
            "agentVersion": "DRAFT",
            "actionGroupName": "memory-actions",
            "actionGroupExecutor": {"lambda": MEMORY_ARN},
            "apiSchema": {"payload": json.dumps(schema)},
            "actionGroupState": "ENABLED",
            "description": ANY,
        },
    )
    stubber.add_response(
        "prepare_agent",
        {"agentId": "FRNDCMP7QX", "agentStatus": "PREPARING", "agentVersion": "DRAFT", "preparedAt": now},
    )
    stubber.add_response("get_agent", _agent("PREPARED"), {"agentId": "FRNDCMP7QX"})
    stubber.add_response(
        "create_agent_alias", _alias("CREATING"), {"agentId": "FRNDCMP7QX", "agentAliasName": "live"}
    )
    stubber.add_response(
        "get_agent_alias", _alias("PREPARED"), {"agentId": "FRNDCMP7QX", "agentAliasId": "LIVEALIAS1"}
    )
    event = load_event(AGENT, "configure-agent")

    with stubber:
        body = envelope_body(invoke(function, event), event, 200)
    stubber.assert_no_pending_responses()

    assert (body["agent_id"], body["alias_id"], body["agent_status"]) == (
        "FRNDCMP7QX",
        "LIVEALIAS1",
        "PREPARED",
    )
    assert body["action_groups"] == {"memory-actions": "MEMGROUP01"}
    report = stored(runtime, "agent_configuration.json")
    assert report["status"] == "configured"
    assert [s["operation"] for s in report["trail"]["steps"]] == [
        "CreateAgent",
        "CreateAgentActionGroup",
        "PrepareAgent",
        "CreateAgentAlias",
    ]
    assert only_record(runtime).status == Status.SUCCESS


def test_a_501_from_localstack_rolls_the_agent_back(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_openapi_schema(runtime)
    stubber = stubbed_provisioner(function, monkeypatch)
    stubber.add_response("create_agent", _agent("NOT_PREPARED"))
    stubber.add_response("get_agent", _agent("NOT_PREPARED"))
    stubber.add_client_error("create_agent_action_group", "InternalFailure", "not yet implemented", 501)
    stubber.add_response(
        "delete_agent",
        {"agentId": "FRNDCMP7QX", "agentStatus": "DELETING"},
        {"agentId": "FRNDCMP7QX", "skipResourceInUseCheck": True},
    )
    event = load_event(AGENT, "configure-agent")

    with stubber:
        body = envelope_body(invoke(function, event), event, 501)

    assert "bedrock-agent CreateAgentActionGroup is not supported" in body["message"]
    assert "(it answered HTTP 501 with InternalFailure)" in body["message"]
    assert "deleted again: AWS::Bedrock::Agent FRNDCMP7QX" in body["message"]
    stubber.assert_no_pending_responses()


def test_an_agent_that_cannot_be_deleted_again_is_reported_as_left_behind(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_openapi_schema(runtime)
    stubber = stubbed_provisioner(function, monkeypatch)
    stubber.add_response("create_agent", _agent("NOT_PREPARED"))
    stubber.add_response("get_agent", _agent("FAILED"))
    stubber.add_client_error("delete_agent", "ThrottlingException", "slow down", 429)
    event = load_event(AGENT, "configure-agent")

    with stubber:
        body = envelope_body(invoke(function, event), event, 422)

    assert "agent FRNDCMP7QX is FAILED after CreateAgent" in body["message"]
    assert "STILL EXISTS, delete it by hand: AWS::Bedrock::Agent FRNDCMP7QX" in body["message"]
    (left,) = stored(runtime, "agent_configuration.json")["trail"]["left_behind"]
    assert left["id"] == "FRNDCMP7QX" and "ThrottlingException" in left["reason"]


def test_configure_agent_checks_everything_before_any_aws_call(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no OpenAPI schema is stored and the endpoint answers nothing (any call would fail the test)
    stubber = stubbed_provisioner(function, monkeypatch)
    event = load_event(AGENT, "configure-agent")

    with stubber:
        body = envelope_body(invoke(function, event), event, 404)

    assert "run code-generator /generate-openapi-schema for this job first" in body["message"]
    assert list(runtime.artifacts.list(JOB, Phase.DEPLOYMENT, AGENT)) == []  # nothing was attempted
    assert only_record(runtime).error_type == "ArtifactNotFoundError"


def test_the_role_comes_from_the_settings_when_agent_config_has_none(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_openapi_schema(runtime)
    config = json.loads(event_properties(load_event(AGENT, "configure-agent"))["agent_config"])
    del config["agent_resource_role_arn"]
    event = with_properties(load_event(AGENT, "configure-agent"), agent_config=json.dumps(config))

    with stubbed_provisioner(function, monkeypatch):
        without = envelope_body(invoke(function, event), event, 400)
    assert "AUTONINJA_AGENT_RESOURCE_ROLE_ARN is not set" in without["message"]

    settings_role = "arn:aws:iam::123456789012:role/autoninja-agents"
    stubber = stubbed_provisioner(function, monkeypatch, agent_role_arn=settings_role)
    stubber.add_client_error(
        "create_agent",
        "ValidationException",
        "stop here",
        400,
        expected_params={
            "agentName": ANY,
            "foundationModel": ANY,
            "instruction": ANY,
            "agentResourceRoleArn": settings_role,
            "description": ANY,
            "idleSessionTTLInSeconds": ANY,
            "memoryConfiguration": ANY,
            "tags": ANY,
        },
    )
    with stubber:
        body = envelope_body(invoke(function, event), event, 400)
    assert (
        body["message"] == "bedrock-agent CreateAgent rejected the request (ValidationException): stop here"
    )


# -- /test-deployment ------------------------------------------------------------------------------


def test_test_deployment_on_the_emulator_is_a_501(
    function: ModuleType, runtime: Runtime, services: DeploymentServices
) -> None:
    event = load_event(AGENT, "test-deployment")

    body = envelope_body(invoke(function, event), event, 501)

    assert body["message"].startswith(
        "bedrock-agent-runtime InvokeAgent is not supported by the target endpoint"
    )
    report = stored(runtime, "deployment_test.json")
    assert report["status"] == "failed" and report["results"] == []
    assert only_record(runtime).error_type == "UnsupportedOperationError"


class FakeAgentRuntime:
    """An InvokeAgent that answers in chunks, or fails in the stream the way Bedrock does."""

    meta = SimpleNamespace(endpoint_url="https://bedrock-agent-runtime.us-east-1.amazonaws.com")

    def __init__(self, answers: dict[str, list[str] | Exception]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def invoke_agent(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        answer = self.answers[request["inputText"]]

        def completion() -> Iterator[dict[str, Any]]:
            if isinstance(answer, Exception):
                raise answer
            for part in answer:
                yield {"chunk": {"bytes": part.encode()}}

        return {"completion": completion(), "sessionId": request["sessionId"], "contentType": "text/plain"}


def test_test_deployment_records_every_answer(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = json.loads(event_properties(load_event(AGENT, "test-deployment"))["test_inputs"])
    failure = EventStreamError(
        {"Error": {"Code": "dependencyFailedException", "Message": "memory-actions returned an error"}},
        "InvokeAgent",
    )
    fake = FakeAgentRuntime(
        {
            inputs[0]: ["Hi Alex! ", "Bouldering and lo-fi, noted."],
            inputs[1]: ["You love bouldering and lo-fi music."],
            inputs[2]: failure,
        }
    )
    use_services(function, monkeypatch, tester=AgentTester(fake), stacks=object(), agents=object())
    event = load_event(AGENT, "test-deployment")

    body = envelope_body(invoke(function, event), event, 200)

    assert body["passed"] is False  # the third call did not return
    assert [r["returned"] for r in body["results"]] == [True, True, False]
    assert body["results"][0]["output"] == "Hi Alex! Bouldering and lo-fi, noted."
    assert body["results"][2]["error_type"] == "AgentInvocationError"
    assert "memory-actions returned an error" in body["results"][2]["error"]
    assert {c["sessionId"] for c in fake.calls} == {f"{JOB}-deployment-test"}
    assert stored(runtime, "deployment_test.json")["results"] == body["results"]
    assert only_record(runtime).status == Status.SUCCESS


def test_test_deployment_passes_when_every_call_returns(
    aws: None, function: ModuleType, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeAgentRuntime({"Hello! Who are you, and what can you do for me?": ["I'm Sam, your friend."]})
    use_services(function, monkeypatch, tester=AgentTester(fake), stacks=object(), agents=object())
    event = with_properties(load_event(AGENT, "test-deployment"), test_inputs=None)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is True
    assert stored(runtime, "deployment_test.json")["passed"] is True


# -- invalid requests ------------------------------------------------------------------------------

INVALID = {
    "invalid/failed-validation-status": (409, "DeploymentRefusedError", "failed validation"),
    "invalid/unclear-validation-status": (400, "InvalidInputError", "validation_status must be"),
    "invalid/missing-job-name": (400, "RequestValidationError", "job_name: Field required"),
    "invalid/parameters-not-json": (400, "RequestValidationError", "parameters: Invalid JSON"),
    "invalid/bad-stack-name": (400, "InvalidInputError", "not a valid CloudFormation stack name"),
    "invalid/not-a-template": (400, "InvalidInputError", "no JSON or YAML document"),
    "invalid/lambda-arns-not-arns": (400, "InvalidInputError", "is not a Lambda function ARN"),
    "invalid/test-inputs-not-json": (400, "InvalidInputError", "test_inputs must be JSON"),
    "invalid/unknown-api-path": (
        404,
        "NotFoundError",
        "/rollback-stack is not an operation of deployment-manager",
    ),
}


def test_every_invalid_event_is_covered() -> None:
    assert set(event_names(AGENT, "invalid")) == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_event_gets_a_4xx_and_an_error_record(
    function: ModuleType, runtime: Runtime, services: DeploymentServices, name: str
) -> None:
    status, error_type, fragment = INVALID[name]
    event = load_event(AGENT, name)

    body = envelope_body(invoke(function, event), event, status)

    assert fragment in body["message"]
    (record,) = action_records(runtime, AGENT)
    assert (record.status, record.error_type) == (Status.ERROR, error_type)
    assert json.loads(record.response or "")["message"] == body["message"]
    assert json.loads(record.prompt) == event
    assert boto3.client("cloudformation", region_name=REGION).describe_stacks()["Stacks"] == []
    assert boto3.client("bedrock-agent", region_name=REGION).list_agents()["agentSummaries"] == []


# -- the adapters' error translation ---------------------------------------------------------------


def _client_error(code: str, status: int, message: str = "m") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PrepareAgent")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("500", 500, UnsupportedOperationError),  # moto server: HTML, no code
        ("404", 404, UnsupportedOperationError),  # moto in-process: a service it does not emulate
        ("InternalFailure", 501, UnsupportedOperationError),  # LocalStack
        ("ValidationException", 400, InvalidInputError),
        ("ResourceNotFoundException", 404, NotFoundError),
        ("ConflictException", 409, ResourceConflictError),
        ("ThrottlingException", 429, ServiceUnavailableError),
        ("InternalServerException", 500, ServiceUnavailableError),  # AWS names its 500s
        ("AccessDeniedException", 403, ConfigurationError),
        ("dependencyFailedException", 424, AgentInvocationError),
    ],
)
def test_client_errors_are_translated_by_code_and_status(code: str, status: int, expected: type) -> None:
    translated = translate_client_error(
        _client_error(code, status), service="bedrock-agent", operation="PrepareAgent", endpoint="http://e"
    )
    assert type(translated) is expected


def test_unexpected_codes_are_not_translated() -> None:
    error = _client_error("SomethingNew", 400)
    assert translate_client_error(error, service="s", operation="o", endpoint="e") is None
