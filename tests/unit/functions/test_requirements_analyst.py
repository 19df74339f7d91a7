"""The requirements-analyst function, in-process on the in-memory runtime, driven by committed events."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from autoninja.action import Runtime
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

AGENT = "requirements-analyst"
JOB = "job-friend-20261203-120000"
OPERATIONS = ("/extract-requirements", "/analyze-complexity", "/validate-requirements")


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


def run(function: ModuleType, name: str) -> Any:
    """Invoke the committed event ``name``, check it succeeded, and return the response body."""
    event = load_event(AGENT, name)
    return envelope_body(invoke(function, event), event, 200)


def stored(runtime: Runtime, filename: str) -> Any:
    return runtime.artifacts.get_json(JOB, Phase.REQUIREMENTS, AGENT, filename)


def exists(runtime: Runtime, filename: str) -> bool:
    return runtime.artifacts.exists(JOB, Phase.REQUIREMENTS, AGENT, filename)


def uri(runtime: Runtime, filename: str) -> str:
    return f"s3://{runtime.settings.artifact_bucket}/{JOB}/requirements/{AGENT}/{filename}"


SIMPLE = {
    "agent_purpose": "Answer questions about the office opening hours politely",
    "functional_requirements": ["Tell the user the opening hours of a given office"],
}


# -- /extract-requirements -------------------------------------------------------------------------


def test_extract_requirements_stores_the_raw_answer_and_the_requirements(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the committed event: Claude's prose around a ```json fence
    event = load_event(AGENT, "extract-requirements")
    model_text = event_properties(event)["requirements"]

    # When
    body = envelope_body(invoke(function, event), event, 200)

    # Then the response carries the converted requirements and where both artifacts are
    requirements = body["requirements"]
    assert requirements["agent_name"] == "friend-companion"
    assert len(requirements["functional_requirements"]) == 7
    assert "Reply within 3 seconds for 95% of messages" in requirements["non_functional_requirements"]
    assert body["artifacts"] == {
        "extract-requirements_raw_response.json": uri(runtime, "extract-requirements_raw_response.json"),
        "requirements.json": uri(runtime, "requirements.json"),
    }
    # the raw answer is kept word for word, with the user's request
    raw = stored(runtime, "extract-requirements_raw_response.json")
    assert raw["raw_text"] == model_text
    assert raw["action"] == "/extract-requirements"
    assert raw["request"] == {"user_request": "I would like a friend agent"}
    # the converted document is what the response returned
    assert stored(runtime, "requirements.json") == requirements
    # and one success record holds the raw event, the response and both URIs, raw first
    (record,) = list(runtime.log.job(JOB))
    assert record.status == Status.SUCCESS
    assert record.agent_name == AGENT
    assert record.action_name == "/extract-requirements"
    assert record.session_id == "demo-session-friend"
    assert json.loads(record.prompt or "") == event
    assert json.loads(record.response or "") == body
    assert record.artifacts_s3_uri == list(body["artifacts"].values())


def test_requirement_objects_are_flattened_into_statements(function: ModuleType, runtime: Runtime) -> None:
    answer = {
        "agent_purpose": "A companion chat agent that remembers the user",
        "functional_requirements": [
            {"id": "FR-1", "description": "Greet returning users by name", "priority": "high"},
            "Check in once a day",
        ],
        "mood_tracking": {"enabled": False},
    }
    event = with_properties(
        load_event(AGENT, "extract-requirements"), requirements=f"```json\n{json.dumps(answer)}\n```"
    )

    body = envelope_body(invoke(function, event), event, 200)

    assert body["requirements"]["functional_requirements"] == [
        "FR-1: Greet returning users by name",
        "Check in once a day",
    ]
    assert stored(runtime, "requirements.json")["mood_tracking"] == {"enabled": False}  # extra keys kept


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("invalid/unconvertible-requirements", "no JSON found in the model output"),
        ("invalid/requirements-missing-fields", "agent_purpose: Field required"),
    ],
)
def test_unconvertible_answers_are_422_and_the_raw_answer_is_kept(
    function: ModuleType, runtime: Runtime, name: str, fragment: str
) -> None:
    event = load_event(AGENT, name)

    body = envelope_body(invoke(function, event), event, 422)

    assert body["error"] == "ConversionError"
    assert fragment in body["message"]
    assert (
        stored(runtime, "extract-requirements_raw_response.json")["raw_text"]
        == (event_properties(event)["requirements"])
    )
    assert not exists(runtime, "requirements.json")
    (record,) = list(runtime.log.job(JOB))
    assert record.status == Status.ERROR
    assert record.error_type == "ConversionError"
    assert fragment in (record.error_message or "")
    assert record.artifacts_s3_uri == [uri(runtime, "extract-requirements_raw_response.json")]


def test_a_json_array_is_not_requirements(function: ModuleType) -> None:
    event = with_properties(load_event(AGENT, "extract-requirements"), requirements='["chat", "remember"]')

    body = envelope_body(invoke(function, event), event, 422)

    assert "a JSON object is expected" in body["message"]


def test_a_blank_answer_is_rejected_before_anything_is_stored(function: ModuleType, runtime: Runtime) -> None:
    event = with_properties(load_event(AGENT, "extract-requirements"), requirements="   ")

    body = envelope_body(invoke(function, event), event, 400)

    assert "requirements" in body["message"]
    assert "must not be blank" in body["message"]
    assert list(runtime.artifacts.list(JOB)) == []


# -- /analyze-complexity ---------------------------------------------------------------------------


def test_analyze_complexity_rates_the_requirements_the_job_stored(
    function: ModuleType, runtime: Runtime
) -> None:
    # Given the demo's first step ran on this job
    run(function, "extract-requirements")
    event = load_event(AGENT, "analyze-complexity")
    assert "requirements" not in event_properties(event)

    # When
    body = envelope_body(invoke(function, event), event, 200)

    # Then the stored requirements were rated, factor by factor
    report = body["complexity"]
    assert report["requirements_source"] == uri(runtime, "requirements.json")
    assert (report["score"], report["level"]) == (10, "moderate")
    points = {factor["factor"]: factor["points"] for factor in report["factors"]}
    assert points == {
        "functional_scope": 3,
        "integrations": 2,
        "stateful": 1,
        "scheduled_behaviour": 1,
        "demanding_nfrs": 2,
        "sensitive_data": 1,
    }
    assert sum(points.values()) == report["score"]
    assert "within 3 seconds" in next(
        f["reason"] for f in report["factors"] if f["factor"] == "demanding_nfrs"
    )
    assert stored(runtime, "complexity.json") == report
    record = list(runtime.log.job(JOB))[-1]
    assert (record.status, record.action_name) == (Status.SUCCESS, "/analyze-complexity")
    assert record.artifacts_s3_uri == [uri(runtime, "complexity.json")]


@pytest.mark.parametrize(
    ("requirements", "level"),
    [
        (SIMPLE, "simple"),
        (
            {
                "agent_purpose": "A claims assistant for a health insurer that handles patient data",
                "functional_requirements": [
                    f"Handle claim step {n} of the approval workflow" for n in range(12)
                ],
                "non_functional_requirements": [
                    "HIPAA compliant, PII encrypted with KMS",
                    "99.99% availability, multi-region failover",
                    "Respond within 500 ms",
                ],
                "integrations": ["Claims API", "Payments API", "CRM", "Document store"],
                "interaction_style": "Voice and chat in several languages",
            },
            "complex",
        ),
    ],
)
def test_analyze_complexity_rates_given_requirements(
    function: ModuleType, runtime: Runtime, requirements: dict[str, Any], level: str
) -> None:
    event = with_properties(load_event(AGENT, "analyze-complexity"), requirements=json.dumps(requirements))

    body = envelope_body(invoke(function, event), event, 200)

    assert body["complexity"]["level"] == level
    assert body["complexity"]["requirements_source"] == "request"
    assert stored(runtime, "complexity.json")["level"] == level


def test_analyze_complexity_rejects_requirements_that_are_not_requirements(
    function: ModuleType, runtime: Runtime
) -> None:
    event = with_properties(load_event(AGENT, "analyze-complexity"), requirements='{"agent_purpose": "chat"}')

    body = envelope_body(invoke(function, event), event, 400)

    assert body["error"] == "InvalidInputError"
    assert "agent_purpose: String should have at least 10 characters" in body["message"]
    assert "functional_requirements: Field required" in body["message"]
    assert not exists(runtime, "complexity.json")


@pytest.mark.parametrize("operation", ["analyze-complexity", "validate-requirements"])
def test_without_requirements_given_or_stored_the_answer_is_404_saying_what_to_do(
    function: ModuleType, runtime: Runtime, operation: str
) -> None:
    event = load_event(AGENT, operation)

    body = envelope_body(invoke(function, event), event, 404)

    assert body["error"] == "ArtifactNotFoundError"
    assert "run requirements-analyst /extract-requirements for this job first" in body["message"]
    (record,) = list(runtime.log.job(JOB))
    assert (record.status, record.error_type) == (Status.ERROR, "ArtifactNotFoundError")


# -- /validate-requirements ------------------------------------------------------------------------


def test_validate_requirements_passes_the_stored_friend_requirements(
    function: ModuleType, runtime: Runtime
) -> None:
    run(function, "extract-requirements")
    event = load_event(AGENT, "validate-requirements")

    body = envelope_body(invoke(function, event), event, 200)

    validation = body["validation"]
    assert validation["valid"] is True
    assert validation["issues"] == []
    assert "conflicting_constraints" in validation["checks"]
    assert validation["requirements_source"] == uri(runtime, "requirements.json")
    assert stored(runtime, "requirements_validation.json") == validation


def test_validate_requirements_reports_every_issue_and_still_answers_200(
    function: ModuleType, runtime: Runtime
) -> None:
    flawed = {
        "agent_purpose": "A friend",
        "functional_requirements": [
            "Remember the user's name and preferences between sessions",
            "Chat about stuff etc",
            "Remember the user's name and preferences between sessions.",
            "",
        ],
        "constraints": ["Stateless: do not store any conversation data"],
        "integrations": "DynamoDB",
    }
    event = with_properties(load_event(AGENT, "validate-requirements"), requirements=json.dumps(flawed))

    body = envelope_body(invoke(function, event), event, 200)

    validation = body["validation"]
    assert validation["valid"] is False
    codes = {(issue["code"], issue["severity"]) for issue in validation["issues"]}
    assert codes == {
        ("schema", "error"),  # integrations is not a list
        ("vague_purpose", "error"),
        ("vague_requirement", "warning"),
        ("duplicate_requirement", "warning"),
        ("empty_requirement", "error"),
        ("conflicting_constraints", "error"),
        ("no_success_criteria", "warning"),
        ("no_non_functional_requirements", "warning"),
    }
    by_code = {issue["code"]: issue for issue in validation["issues"]}
    assert by_code["schema"]["field"] == "integrations"
    assert "stateless vs remembering" in by_code["conflicting_constraints"]["message"]
    assert "stuff" in by_code["vague_requirement"]["message"]
    assert by_code["duplicate_requirement"]["field"] == "functional_requirements[2]"
    assert stored(runtime, "requirements_validation.json") == validation
    # the check ran, so the record is a success: the finding is the answer
    (record,) = list(runtime.log.job(JOB))
    assert record.status == Status.SUCCESS


def test_validate_requirements_reports_a_document_without_purpose_or_requirements(
    function: ModuleType,
) -> None:
    event = with_properties(load_event(AGENT, "validate-requirements"), requirements="{}")

    validation = envelope_body(invoke(function, event), event, 200)["validation"]

    assert validation["valid"] is False
    codes = [issue["code"] for issue in validation["issues"]]
    assert codes.count("missing_purpose") == 1
    assert codes.count("no_functional_requirements") == 1
    assert "schema" not in codes  # the two missing fields are reported once, by name


# -- invalid events --------------------------------------------------------------------------------

INVALID_EVENTS = {
    "invalid/missing-job-name": (400, "InvalidRequest", "job_name: Field required"),
    "invalid/bad-job-name": (400, "InvalidRequest", "does not match job-{keyword}-{YYYYMMDD-HHMMSS}"),
    "invalid/unknown-api-path": (404, "UnknownOperation", "/summarize-requirements is not an operation"),
    "invalid/requirements-not-json": (400, "InvalidRequest", "requirements: Invalid JSON"),
    "invalid/unconvertible-requirements": (422, "ConversionError", "no JSON found"),
    "invalid/requirements-missing-fields": (
        422,
        "ConversionError",
        "functional_requirements: Field required",
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
    assert json.loads(record.prompt or "") == event
    if "job_name" not in event_properties(event) or name.endswith("bad-job-name"):
        assert record.job_name.startswith("job-unattributed-")
    else:
        assert record.job_name == JOB


# -- the function's contract -----------------------------------------------------------------------


def test_every_operation_has_a_committed_event_in_bedrock_shape(function: ModuleType) -> None:
    routes = sorted(route.path for route in function.app._static_routes)
    assert routes == sorted(OPERATIONS)
    for path in OPERATIONS:
        event = load_event(AGENT, path.strip("/"))
        assert event["apiPath"] == path
        assert event["httpMethod"] == "POST"
        assert event["messageVersion"] == "1.0"
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
            assert prop["type"] == "string", name  # Bedrock sends every value as a string
            assert prop.get("description"), name


@pytest.mark.parametrize("blank", ["", "  ", "null"])
def test_a_blank_optional_requirements_field_means_use_the_stored_ones(
    function: ModuleType, runtime: Runtime, blank: str
) -> None:
    run(function, "extract-requirements")
    event = with_properties(load_event(AGENT, "analyze-complexity"), requirements=blank)

    body = envelope_body(invoke(function, event), event, 200)

    assert body["complexity"]["requirements_source"] == uri(runtime, "requirements.json")
