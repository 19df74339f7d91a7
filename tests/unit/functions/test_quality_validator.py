"""The quality-validator function, in-process on the in-memory runtime, driven by committed events.

Outcome policy under test: a check that ran answers 200 with a ``success`` record and says truthfully
whether the subject passed; a request that cannot be checked answers 4xx with an ``error`` record.
"""

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

AGENT = "quality-validator"
JOB = "job-friend-20261203-120000"
REPORTS = {
    "validate-code": "code_validation.json",
    "security-scan": "security_scan.json",
    "compliance-check": "compliance_report.json",
}
FAKE_ACCESS_KEY = "AKIA" + "Q3EXAMPLE7FRIEND"  # split so no scanner flags this test file
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "FRIENDKEY0"

INSECURE_CODE = f'''import os
import pickle
import subprocess as sp
import yaml

AWS_ACCESS_KEY_ID = "{FAKE_ACCESS_KEY}"


def handler(event):
    data = eval(event["expression"])
    os.system("echo " + event["name"])
    sp.run("ls " + event["dir"], shell=True)
    sp.run(["ls", event["dir"]])
    state = pickle.loads(event["blob"])
    config = yaml.load(event["yaml"])
    safe = yaml.load(event["yaml"], Loader=yaml.SafeLoader)
    module = __import__(event["module"])
    try:
        return data, state, config, safe, module
    except:
        return None
'''


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


def invoke(function: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = function.lambda_handler(event, lambda_context(AGENT))
    return response


def stored_report(runtime: Runtime, filename: str) -> Any:
    return runtime.artifacts.get_json(JOB, Phase.VALIDATION, AGENT, filename)


def architect_template() -> dict[str, Any]:
    """The template the solution architect stores in the demo (from its committed event)."""
    text = event_properties(load_event("solution-architect", "generate-iac"))["cloudformation_template"]
    template: dict[str, Any] = extract_structured(text)
    return template


def store_architect_template(runtime: Runtime, template: dict[str, Any]) -> str:
    return runtime.artifacts.put(JOB, Phase.ARCHITECTURE, "solution-architect", "template.json", template).uri


def rules(body: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for finding in body["findings"]:
        found.setdefault(finding["rule"], []).append(finding["line"] or finding["file"])
    return found


def findings_of(runtime: Runtime, filename: str) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = stored_report(runtime, filename)["findings"]
    return findings


# -- the committed events --------------------------------------------------------------------------


@pytest.mark.parametrize("name", event_names(AGENT) + event_names(AGENT, "invalid"))
def test_committed_events_have_the_shape_bedrock_sends(name: str) -> None:
    event = load_event(AGENT, name)
    assert set(event) == {
        "messageVersion",
        "agent",
        "inputText",
        "sessionId",
        "actionGroup",
        "apiPath",
        "httpMethod",
        "parameters",
        "requestBody",
        "sessionAttributes",
        "promptSessionAttributes",
    }
    assert event["messageVersion"] == "1.0"
    assert set(event["agent"]) == {"name", "id", "alias", "version"}
    assert event["httpMethod"] == "POST"
    assert event["sessionId"] == "demo-session-friend"
    properties = event["requestBody"]["content"]["application/json"]["properties"]
    assert all(p["type"] == "string" and isinstance(p["value"], str) for p in properties)


def test_every_operation_has_a_committed_event(function: ModuleType) -> None:
    schema = function.app.get_openapi_json_schema()
    paths = set(json.loads(schema)["paths"])
    assert paths == {"/validate-code", "/security-scan", "/compliance-check"}
    assert {f"/{name}" for name in event_names(AGENT)} == paths


@pytest.mark.parametrize("operation", ["validate-code", "security-scan"])
def test_valid_event_passes_and_is_recorded_with_its_report(
    function: ModuleType, runtime: Runtime, operation: str
) -> None:
    # Given the demo's memory-actions code (and its least-privilege policy)
    event = load_event(AGENT, operation)

    # When the quality validator checks it
    body = envelope_body(invoke(function, event), event, 200)

    # Then it passes, truthfully, and the report is stored and named in the success record
    assert body["passed"] is True and body["analysed"] is True
    assert body["findings_total"] == 0
    report = stored_report(runtime, REPORTS[operation])
    assert report["passed"] is True
    (record,) = action_records(runtime, AGENT)
    assert record.status == Status.SUCCESS
    assert record.job_name == JOB and record.action_name == f"/{operation}"
    assert json.loads(record.prompt) == event
    assert json.loads(record.response) == body
    assert record.artifacts_s3_uri == [body["report_uri"]]


def test_validate_code_names_the_files_it_analysed(function: ModuleType) -> None:
    event = load_event(AGENT, "validate-code")
    body = envelope_body(invoke(function, event), event, 200)
    assert body["files"] == ["lambda_function.py"]
    assert body["language"] == "python"


def test_security_scan_checks_the_policies_it_was_given(function: ModuleType) -> None:
    event = load_event(AGENT, "security-scan")
    body = envelope_body(invoke(function, event), event, 200)
    assert body["policies_checked"] == ["friend-memory-access", "friend-memory-actions-trust"]
    assert body["policy_source"] == "request"


def test_compliance_check_reads_the_architects_stored_template(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the solution architect stored the demo's template for this job
    uri = store_architect_template(runtime, architect_template())
    event = load_event(AGENT, "compliance-check")

    # When the compliance check runs on the architecture (which holds no template itself)
    body = envelope_body(invoke(function, event), event, 200)

    # Then it checked that template, every resource, and it passes
    assert body["template_source"] == uri
    assert body["resources_checked"] == len(architect_template()["Resources"])
    assert body["passed"] is True, body["findings"]
    assert stored_report(runtime, "compliance_report.json")["passed"] is True


def test_compliance_check_without_any_template_is_not_a_pass(function: ModuleType, runtime: Runtime) -> None:
    # Given no template in the request and none stored
    event = load_event(AGENT, "compliance-check")

    body = envelope_body(invoke(function, event), event, 200)

    # Then the check ran but says so: not analysed, not passed
    assert body["passed"] is False and body["analysed"] is False
    assert "infrastructure was not checked" in body["notes"][0]
    assert action_records(runtime, AGENT)[0].status == Status.SUCCESS


# -- failing checks: 200, passed=false, with findings -----------------------------------------------


def test_insecure_code_fails_with_every_finding_located(function: ModuleType, runtime: Runtime) -> None:
    event = with_properties(load_event(AGENT, "validate-code"), code=INSECURE_CODE)

    body = envelope_body(invoke(function, event), event, 200)

    assert body["passed"] is False
    found = rules(body)
    assert found["dangerous-eval"] == [10]
    assert found["shell-command"] == [11]
    assert found["subprocess-shell"] == [12]  # the list form on line 13 is fine
    assert found["unsafe-deserialisation"] == [14]
    assert found["unsafe-yaml-load"] == [15]  # the SafeLoader call on line 16 is fine
    assert found["dynamic-import"] == [17]
    assert found["bare-except"] == [20]
    assert found["aws-access-key-id"] == [6]
    assert found["handler-signature"] == [9]
    assert body["summary"]["critical"] == 1
    assert action_records(runtime, AGENT)[0].status == Status.SUCCESS


def test_found_secrets_are_never_repeated_in_reports(function: ModuleType, runtime: Runtime) -> None:
    event = with_properties(load_event(AGENT, "validate-code"), code=INSECURE_CODE)
    invoke(function, event)
    stored = json.dumps(stored_report(runtime, "code_validation.json"))
    assert FAKE_ACCESS_KEY not in stored
    assert FAKE_ACCESS_KEY[:4] + "..." in stored


def test_syntax_error_is_critical_with_its_line(function: ModuleType) -> None:
    code = json.dumps({"lambda_function.py": "def lambda_handler(event, context):\n    return {\n"})
    event = with_properties(load_event(AGENT, "validate-code"), code=code)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is False
    (finding,) = body["findings"]
    assert (finding["rule"], finding["severity"], finding["line"]) == ("syntax-error", "critical", 2)


def test_code_without_a_lambda_handler_fails(function: ModuleType) -> None:
    code = "```python\ndef reply(event):\n    return {'ok': True}\n```"
    event = with_properties(load_event(AGENT, "validate-code"), code=code)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is False
    assert [f["rule"] for f in body["findings"]] == ["missing-handler"]


def test_a_wrapped_handler_counts_as_a_handler(function: ModuleType) -> None:
    code = "from wrappers import persisted\n\n\ndef _handle(event, context):\n    return {}\n\n\n"
    code += "lambda_handler = persisted(_handle)\n"
    event = with_properties(load_event(AGENT, "validate-code"), code=code)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is True, body["findings"]


def test_other_languages_are_reported_not_analysed_never_passed(function: ModuleType) -> None:
    code = "export const handler = async (event) => ({ statusCode: 200 });"
    event = with_properties(load_event(AGENT, "validate-code"), code=code, language="javascript")
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is False and body["analysed"] is False
    assert [f["rule"] for f in body["findings"]] == ["not-analysed"]
    assert "not analysed" in body["notes"][0]


def test_the_response_lists_fifty_findings_and_the_report_all(function: ModuleType, runtime: Runtime) -> None:
    handlers = "".join(f"    try:\n        pass\n    except:\n        pass  # {i}\n" for i in range(60))
    code = f"def lambda_handler(event, context):\n{handlers}"
    event = with_properties(load_event(AGENT, "validate-code"), code=code)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["findings_total"] == 60
    assert len(body["findings"]) == 50
    assert len(findings_of(runtime, "code_validation.json")) == 60


WIDE_POLICIES = {
    "admin": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
    "memory": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllDynamo", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Sid": "Writes", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"},
            {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
            {"Sid": "Reads", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
            {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
            {"Sid": "Everything", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"},
            {
                "Sid": "Elsewhere",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "NotResource": "arn:aws:sqs:*",
            },
            {"Sid": "Denied", "Effect": "Deny", "Action": "*", "Resource": "*"},
        ],
    },
}
SECRET_CODE = f'''def lambda_handler(event, context):
    aws_secret_access_key = "{FAKE_SECRET}"
    password = "correct-horse-battery"
    token = "ghp_{"a1B2" * 9}"
    key = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA
-----END RSA PRIVATE KEY-----"""
    return aws_secret_access_key, password, token, key
'''


def test_wide_policies_and_secrets_fail_the_security_scan(function: ModuleType, runtime: Runtime) -> None:
    event = with_properties(
        load_event(AGENT, "security-scan"), code=SECRET_CODE, iam_policies=json.dumps(WIDE_POLICIES)
    )

    body = envelope_body(invoke(function, event), event, 200)

    assert body["passed"] is False
    by_rule = {(f["rule"], f["file"]): f for f in findings_of(runtime, "security_scan.json")}
    assert by_rule["iam-wildcard-action", "admin"]["severity"] == "critical"
    assert "AllDynamo" in by_rule["iam-service-wildcard", "memory"]["message"]
    writes = [f for f in body["findings"] if f["rule"] == "iam-wildcard-resource-write"]
    assert [w["message"].split(":")[0] for w in writes] == [
        "statement 1 (Writes)"
    ]  # reads and metrics are fine
    assert "s3:PutObject" in writes[0]["message"] and "s3:GetObject" not in writes[0]["message"]
    assert ("iam-passrole-wildcard", "memory") in by_rule
    assert ("iam-not-action", "memory") in by_rule and ("iam-not-resource", "memory") in by_rule
    code_rules = {f["rule"]: f["line"] for f in body["findings"] if f["file"] == "handler.py"}
    assert code_rules == {
        "aws-secret-access-key": 2,
        "hard-coded-password": 3,
        "access-token": 4,
        "hard-coded-token": 4,
        "private-key": 5,
    }
    stored = json.dumps(stored_report(runtime, "security_scan.json"))
    assert FAKE_SECRET not in stored and "correct-horse-battery" not in stored


def test_security_scan_without_policies_scans_the_stored_template(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the architect's template is stored and the request names no policies
    store_architect_template(runtime, architect_template())
    event = with_properties(load_event(AGENT, "security-scan"), iam_policies=None)

    body = envelope_body(invoke(function, event), event, 200)

    # Then the template's inline role policies were scanned (and they are least-privilege)
    assert "MemoryFunctionRole/friend-memory-access" in body["policies_checked"]
    assert body["policy_source"].endswith("/architecture/solution-architect/template.json")
    assert body["passed"] is True, body["findings"]


INSECURE_TEMPLATE = {
    "Resources": {
        "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {"AccessControl": "PublicRead"}},
        "Memory": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "user_id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": "index.handler", "Runtime": "python3.12", "Code": {"ZipFile": "x"}},
        },
        "Anyone": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "Action": "lambda:InvokeFunction",
                "Principal": "*",
            },
        },
        "Everyone": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Uploads"},
                "PolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                    ]
                },
            },
        },
        "Forever": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/app/forever"}},
    }
}


def test_insecure_template_fails_the_compliance_check(function: ModuleType, runtime: Runtime) -> None:
    architecture = {"summary": "friend", "cloudformation_template": INSECURE_TEMPLATE}
    code = 'import boto3\n\nTABLE = boto3.resource("dynamodb", region_name="us-east-1")\nprint("loaded")\n'
    event = with_properties(
        load_event(AGENT, "compliance-check"), architecture=json.dumps(architecture), code=code
    )

    body = envelope_body(invoke(function, event), event, 200)

    assert body["passed"] is False
    assert body["template_source"] == "request"
    found = {(f["rule"], f["file"]) for f in body["findings"]}
    assert {
        ("s3-encryption", "Uploads"),
        ("s3-public-access-block", "Uploads"),
        ("public-acl", "Uploads"),
        ("dynamodb-sse", "Memory"),
        ("dynamodb-pitr", "Memory"),
        ("kms-key-rotation", "Key"),
        ("lambda-log-retention", "Fn"),
        ("public-principal", "Anyone"),
        ("public-principal", "Everyone"),
        ("log-group-retention", "Forever"),
        ("hard-coded-region", "handler.py"),
        ("print-logging", "handler.py"),
    } <= found


def test_a_yaml_template_inside_the_architecture_is_checked(function: ModuleType) -> None:
    yaml_template = (
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Handler: index.handler\n"
        "  FnLogs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
        "      LogGroupName: !Sub /aws/lambda/${Fn}\n      RetentionInDays: 30\n"
    )
    architecture = json.dumps({"cloudformation_template": yaml_template})
    event = with_properties(load_event(AGENT, "compliance-check"), architecture=architecture)
    body = envelope_body(invoke(function, event), event, 200)
    assert body["passed"] is True, body["findings"]
    assert body["resources_checked"] == 2


# -- invalid requests: 4xx and an error record --------------------------------------------------------

INVALID = {
    "invalid/missing-job-name": (400, "RequestValidationError", "job_name: Field required"),
    "invalid/bad-job-name": (400, "RequestValidationError", "does not match job-{keyword}"),
    "invalid/empty-code": (400, "RequestValidationError", "code"),
    "invalid/iam-policies-not-json": (400, "InvalidInputError", "iam_policies must be JSON"),
    "invalid/iam-policies-not-policies": (400, "InvalidInputError", "not an IAM policy document"),
    "invalid/architecture-not-json": (400, "RequestValidationError", "architecture"),
    "invalid/unknown-api-path": (404, "NotFoundError", "/lint-code is not an operation of quality-validator"),
}


def test_every_invalid_event_is_covered() -> None:
    assert set(event_names(AGENT, "invalid")) == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_event_gets_a_4xx_and_an_error_record(
    function: ModuleType, runtime: Runtime, name: str
) -> None:
    status, error_type, fragment = INVALID[name]
    event = load_event(AGENT, name)

    body = envelope_body(invoke(function, event), event, status)

    assert fragment in body["message"]
    (record,) = action_records(runtime, AGENT)
    assert record.status == Status.ERROR
    assert record.error_type == error_type
    assert json.loads(record.response or "")["message"] == body["message"]
    assert json.loads(record.prompt) == event
    assert record.artifacts_s3_uri == []  # nothing was checked, so no report
