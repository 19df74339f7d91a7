"""The code-generator function, in-process on the in-memory runtime, driven by committed events."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from autoninja.action import Runtime
from autoninja.conversion import extract_structured, fenced_blocks
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

AGENT = "code-generator"
ANALYST = "requirements-analyst"
JOB = "job-friend-20261203-120000"
OPERATIONS = ("/generate-lambda-code", "/generate-agent-config", "/generate-openapi-schema")
REQUIREMENTS = json.dumps(
    {"agent_purpose": "A companion chat agent that remembers the user", "functional_requirements": ["Chat"]}
)
APP = "import helpers\n\n\ndef lambda_handler(event, context):\n    return helpers.reply(event)\n"
HELPERS = "def reply(event):\n    return {'messageVersion': '1.0'}\n"


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
    """The requirements analyst on the same runtime, for the demo's first step."""
    module = load_function(ANALYST)
    module.lambda_handler.runtime = runtime
    return module


def invoke(function: ModuleType, event: dict[str, Any], agent: str = AGENT) -> dict[str, Any]:
    response: dict[str, Any] = function.lambda_handler(event, lambda_context(agent))
    return response


def stored_json(runtime: Runtime, filename: str) -> Any:
    return runtime.artifacts.get_json(JOB, Phase.CODE, AGENT, filename)


def stored_text(runtime: Runtime, filename: str) -> str:
    return runtime.artifacts.get_text(JOB, Phase.CODE, AGENT, filename)


def stored_names(runtime: Runtime) -> list[str]:
    return [info.key.rsplit("/", 1)[-1] for info in runtime.artifacts.list(JOB, Phase.CODE, AGENT)]


def uri(runtime: Runtime, filename: str, phase: str = "code", agent: str = AGENT) -> str:
    return f"s3://{runtime.settings.artifact_bucket}/{JOB}/{phase}/{agent}/{filename}"


def last_record(runtime: Runtime) -> Any:
    return action_records(runtime, AGENT)[-1]


def lambda_event(lambda_code: str, **changes: str | None) -> dict[str, Any]:
    """The committed /generate-lambda-code event with other code, requirements inline and ``changes``."""
    return with_properties(
        load_event(AGENT, "generate-lambda-code"),
        requirements=REQUIREMENTS,
        lambda_code=lambda_code,
        **changes,
    )


# -- /generate-lambda-code -------------------------------------------------------------------------


def test_generate_lambda_code_stores_the_raw_answer_each_file_and_the_map(
    function: ModuleType, analyst: ModuleType, runtime: Runtime
) -> None:
    # Given the requirements the demo's first step stored
    extract = load_event(ANALYST, "extract-requirements")
    envelope_body(invoke(analyst, extract, ANALYST), extract, 200)
    event = load_event(AGENT, "generate-lambda-code")
    model_text = event_properties(event)["lambda_code"]
    ((_, code),) = fenced_blocks(model_text)

    # When
    body = envelope_body(invoke(function, event), event, 200)

    # Then the fenced code is stored as the file the function spec's handler names
    assert body["handler"] == "lambda_function.lambda_handler"
    assert body["runtime"] == "python3.12"
    assert stored_text(runtime, "lambda_function.py") == code + "\n"
    assert stored_json(runtime, "lambda_code.json") == {"lambda_function.py": code + "\n"}
    (file,) = body["files"]
    assert (file["name"], file["lines"]) == ("lambda_function.py", len(code.splitlines()))
    assert file["size_bytes"] == len((code + "\n").encode())
    assert body["requirements_source"] == uri(runtime, "requirements.json", "requirements", ANALYST)
    raw = stored_json(runtime, "generate-lambda-code_raw_response.json")
    assert raw["raw_text"] == model_text
    assert raw["request"]["function_spec"]["name"] == "memory-actions"
    record = last_record(runtime)
    assert record.status == Status.SUCCESS
    assert json.loads(record.prompt) == event
    assert json.loads(record.response) == body
    assert record.artifacts_s3_uri == [
        uri(runtime, "generate-lambda-code_raw_response.json"),
        uri(runtime, "lambda_function.py"),
        uri(runtime, "lambda_code.json"),
    ]


@pytest.mark.parametrize(
    "wrap",
    [
        json.dumps,
        lambda files: f"Here are the two files:\n\n```json\n{json.dumps(files, indent=2)}\n```\n",
    ],
    ids=["bare-json-map", "fenced-json-map"],
)
def test_a_file_map_is_stored_file_by_file(function: ModuleType, runtime: Runtime, wrap: Any) -> None:
    files = {"app.py": APP, "helpers.py": HELPERS, "requirements.txt": "boto3>=1.34\n"}
    event = lambda_event(wrap(files), function_spec=None)

    body = envelope_body(invoke(function, event), event, 200)

    assert body["handler"] == "app.lambda_handler"
    assert sorted(f["name"] for f in body["files"]) == ["app.py", "helpers.py", "requirements.txt"]
    assert stored_text(runtime, "helpers.py") == HELPERS
    assert stored_json(runtime, "lambda_code.json") == files


def test_the_handler_named_by_the_function_spec_must_exist(function: ModuleType, runtime: Runtime) -> None:
    event = lambda_event(json.dumps({"app.py": APP}), function_spec='{"handler": "app.main"}')

    body = envelope_body(invoke(function, event), event, 422)

    assert "no handler found (app.main)" in body["message"]


def test_a_handler_called_handler_is_found(function: ModuleType) -> None:
    event = lambda_event("```python\ndef handler(event, context):\n    return {}\n```", function_spec=None)

    body = envelope_body(invoke(function, event), event, 200)

    assert body["handler"] == "lambda_function.handler"


@pytest.mark.parametrize(
    ("lambda_code", "fragment"),
    [
        (json.dumps({"src/app.py": APP}), "file 'src/app.py' is in a folder"),
        (json.dumps({"lambda_code.json": "{}", "app.py": APP}), "'lambda_code.json' is reserved"),
        (json.dumps({"x_raw_response.json": "{}", "app.py": APP}), "'x_raw_response.json' is reserved"),
        (json.dumps({".env": "A=1", "app.py": APP}), "filename '.env' is not safe"),
        (json.dumps({"app.py": APP, "empty.py": "  \n"}), "file 'empty.py' is empty"),
        (json.dumps({"app.py": APP, "broken.py": "def f(:\n"}), "broken.py is not valid Python (line 1"),
        ("```python\ndef main(event, context):\n    return {}\n```", "no handler found"),
        ("```python\ndef lambda_handler(event):\n    return {}\n```", "must accept (event, context)"),
        ("I'll write the function once you confirm the table name.", "no ```python fence"),
        (json.dumps({"README.md": "# memory"}), "no Python file among README.md"),
    ],
)
def test_code_that_cannot_be_deployed_is_422_and_no_file_is_stored(
    function: ModuleType, runtime: Runtime, lambda_code: str, fragment: str
) -> None:
    event = lambda_event(lambda_code)

    body = envelope_body(invoke(function, event), event, 422)

    assert body["error"] == "ConversionError"
    assert fragment in body["message"]
    assert stored_names(runtime) == ["generate-lambda-code_raw_response.json"]
    assert stored_json(runtime, "generate-lambda-code_raw_response.json")["raw_text"] == lambda_code
    record = last_record(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "ConversionError")
    assert record.artifacts_s3_uri == [uri(runtime, "generate-lambda-code_raw_response.json")]


@pytest.mark.parametrize(
    ("function_spec", "fragment"),
    [
        ('{"runtime": "nodejs20.x"}', "function_spec.runtime 'nodejs20.x' is not supported"),
        ('{"handler": "index"}', "function_spec.handler 'index' must be module.function"),
    ],
)
def test_a_function_spec_this_operation_cannot_honour_is_400(
    function: ModuleType, runtime: Runtime, function_spec: str, fragment: str
) -> None:
    event = lambda_event(json.dumps({"app.py": APP}), function_spec=function_spec)

    body = envelope_body(invoke(function, event), event, 400)

    assert fragment in body["message"]
    assert stored_names(runtime) == ["generate-lambda-code_raw_response.json"]


def test_generate_lambda_code_without_requirements_is_404(function: ModuleType, runtime: Runtime) -> None:
    event = load_event(AGENT, "generate-lambda-code")

    body = envelope_body(invoke(function, event), event, 404)

    assert "run requirements-analyst /extract-requirements for this job first" in body["message"]
    assert stored_names(runtime) == ["generate-lambda-code_raw_response.json"]


# -- /generate-agent-config ------------------------------------------------------------------------


def test_generate_agent_config_stores_the_raw_answer_and_the_config(
    function: ModuleType, analyst: ModuleType, runtime: Runtime
) -> None:
    extract = load_event(ANALYST, "extract-requirements")
    envelope_body(invoke(analyst, extract, ANALYST), extract, 200)
    event = load_event(AGENT, "generate-agent-config")

    body = envelope_body(invoke(function, event), event, 200)

    config = body["agent_config"]
    assert config["agent_name"] == "friend-companion"
    assert config["foundation_model"] == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert config["idle_session_ttl_in_seconds"] == 1800
    assert config["memory_configuration"] == {"enabled_memory_types": ["SESSION_SUMMARY"], "storage_days": 30}
    assert config["action_groups"][0]["name"] == "memory-actions"
    assert config["guardrail"] == {"name": "friend-guardrail-dev", "version": "DRAFT"}  # extra keys kept
    assert 40 <= len(config["instruction"]) <= 4000
    assert stored_json(runtime, "agent_config.json") == config
    assert (
        stored_json(runtime, "generate-agent-config_raw_response.json")["raw_text"]
        == (event_properties(event)["agent_config"])
    )
    assert body["requirements_source"] == uri(runtime, "requirements.json", "requirements", ANALYST)
    assert last_record(runtime).artifacts_s3_uri == [
        uri(runtime, "generate-agent-config_raw_response.json"),
        uri(runtime, "agent_config.json"),
    ]


def test_bedrock_camel_case_keys_are_stored_snake_case(function: ModuleType, runtime: Runtime) -> None:
    answer = {
        "agentName": "friend_companion",
        "foundationModel": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "instruction": "You are a warm and supportive friend who remembers the user's name and interests.",
        "idleSessionTTLInSeconds": 600,
        "actionGroups": [{"actionGroupName": "memory", "description": "Profile and memories"}],
        "memoryConfiguration": {"enabledMemoryTypes": ["SESSION_SUMMARY"], "storageDays": 7},
    }
    event = with_properties(
        load_event(AGENT, "generate-agent-config"), requirements=REQUIREMENTS, agent_config=json.dumps(answer)
    )

    envelope_body(invoke(function, event), event, 200)

    assert stored_json(runtime, "agent_config.json") == {
        "agent_name": "friend_companion",
        "foundation_model": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "instruction": answer["instruction"],
        "idle_session_ttl_in_seconds": 600,
        "action_groups": [{"name": "memory", "description": "Profile and memories"}],
        "memory_configuration": {"enabled_memory_types": ["SESSION_SUMMARY"], "storage_days": 7},
    }


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"agent_name": "friend", "foundation_model": "m"}, "instruction: Field required"),
        (
            {"agent_name": "friend", "foundation_model": "m", "instruction": "x" * 4001},
            "instruction: String should have at most 4000 characters",
        ),
        (
            {"agent_name": "friend", "foundation_model": "bad model id", "instruction": "y" * 40},
            "foundation_model: String should match pattern",
        ),
        (
            {
                "agent_name": "friend",
                "foundation_model": "m",
                "instruction": "z" * 40,
                "action_groups": [{"name": "memory"}, {"name": "memory"}],
            },
            "action group names must be unique; repeated: memory",
        ),
        (
            {
                "agent_name": "friend",
                "foundation_model": "m",
                "instruction": "z" * 40,
                "memory_configuration": {"enabled_memory_types": ["LONG_TERM"]},
            },
            "memory_configuration.enabled_memory_types[0]: Input should be 'SESSION_SUMMARY'",
        ),
    ],
)
def test_configs_bedrock_would_reject_are_422(
    function: ModuleType, runtime: Runtime, config: dict[str, Any], fragment: str
) -> None:
    event = with_properties(
        load_event(AGENT, "generate-agent-config"), requirements=REQUIREMENTS, agent_config=json.dumps(config)
    )

    body = envelope_body(invoke(function, event), event, 422)

    assert fragment in body["message"]
    assert stored_names(runtime) == ["generate-agent-config_raw_response.json"]


# -- /generate-openapi-schema ----------------------------------------------------------------------


def test_generate_openapi_schema_stores_the_raw_answer_and_the_schema(
    function: ModuleType, runtime: Runtime
) -> None:
    event = load_event(AGENT, "generate-openapi-schema")
    model_text = event_properties(event)["openapi_schema"]

    body = envelope_body(invoke(function, event), event, 200)

    assert (body["openapi"], body["title"]) == ("3.0.0", "Friend agent memory actions")
    assert [op["operation_id"] for op in body["operations"]] == [
        "getProfile",
        "savePreference",
        "saveConversationSummary",
        "getPendingCheckin",
        "forgetMe",
    ]
    assert all(op["method"] == "POST" for op in body["operations"])
    assert stored_json(runtime, "openapi_schema.json") == extract_structured(model_text)
    raw = stored_json(runtime, "generate-openapi-schema_raw_response.json")
    assert raw["raw_text"] == model_text
    assert raw["request"]["action_group_spec"] == event_properties(event)["action_group_spec"]
    record = last_record(runtime)
    assert record.status == Status.SUCCESS
    assert record.artifacts_s3_uri == [
        uri(runtime, "generate-openapi-schema_raw_response.json"),
        uri(runtime, "openapi_schema.json"),
    ]


def _schema(**operation: Any) -> dict[str, Any]:
    base = {"operationId": "getProfile", "description": "Load the profile", "responses": {"200": {}}}
    return {
        "openapi": "3.0.0",
        "info": {"title": "memory", "version": 1},
        "paths": {"/get-profile": {"post": {**base, **operation}}},
    }


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({**_schema(), "openapi": "2.0"}, "openapi: String should match pattern"),
        ({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}, "openapi: Field required"),
        ({**_schema(), "paths": {}}, "paths: Dictionary should have at least 1 item"),
        (_schema(operationId=None), "paths./get-profile.post.operationId: Input should be a valid string"),
        (_schema(description=""), "paths./get-profile.post.description: String should have at least 1"),
        (_schema(responses={}), "responses: Dictionary should have at least 1 item"),
        (_schema(requestBody={"required": True}), "requestBody must have content"),
        ({**_schema(), "paths": {"get-profile": _schema()["paths"]["/get-profile"]}}, "must start with '/'"),
        ({**_schema(), "paths": {"/a": {"summary": "nothing"}}}, "path '/a' has no operation"),
        (
            {**_schema(), "paths": {"/a": _schema()["paths"]["/get-profile"], **_schema()["paths"]}},
            "operationId must be unique; repeated: getProfile",
        ),
    ],
)
def test_schemas_bedrock_cannot_use_are_422(
    function: ModuleType, runtime: Runtime, schema: dict[str, Any], fragment: str
) -> None:
    event = with_properties(load_event(AGENT, "generate-openapi-schema"), openapi_schema=json.dumps(schema))

    body = envelope_body(invoke(function, event), event, 422)

    assert fragment in body["message"]
    assert stored_names(runtime) == ["generate-openapi-schema_raw_response.json"]


def test_a_json_schema_is_accepted_and_an_integer_version_kept(
    function: ModuleType, runtime: Runtime
) -> None:
    event = with_properties(
        load_event(AGENT, "generate-openapi-schema"), openapi_schema=json.dumps(_schema())
    )

    body = envelope_body(invoke(function, event), event, 200)

    assert body["operations"] == [{"method": "POST", "path": "/get-profile", "operation_id": "getProfile"}]
    assert stored_json(runtime, "openapi_schema.json") == _schema()  # stored as given, not re-typed


# -- invalid events --------------------------------------------------------------------------------

INVALID_EVENTS = {
    "invalid/missing-job-name": (400, "InvalidRequest", "job_name: Field required"),
    "invalid/bad-job-name": (400, "InvalidRequest", "not a real UTC date and time"),
    "invalid/unknown-api-path": (404, "UnknownOperation", "/generate-dockerfile is not an operation"),
    "invalid/function-spec-not-json": (400, "InvalidRequest", "function_spec: Invalid JSON"),
    "invalid/unconvertible-lambda-code": (422, "ConversionError", "lambda_function.py is not valid Python"),
    "invalid/unconvertible-openapi-schema": (422, "ConversionError", "paths./forget-me.post.operationId"),
    "invalid/agent-config-instruction-too-short": (422, "ConversionError", "instruction: String should have"),
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
    if status == 422:  # the raw answer was kept although it could not be converted
        assert len(record.artifacts_s3_uri) == 1
        assert record.artifacts_s3_uri[0].endswith("_raw_response.json")


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


# -- the demo: every committed event of the three functions, in order, on one job -----------------

DEMO = (
    ("requirements-analyst", "extract-requirements"),
    ("requirements-analyst", "analyze-complexity"),
    ("requirements-analyst", "validate-requirements"),
    ("solution-architect", "design-architecture"),
    ("solution-architect", "select-services"),
    ("solution-architect", "generate-iac"),
    ("code-generator", "generate-lambda-code"),
    ("code-generator", "generate-agent-config"),
    ("code-generator", "generate-openapi-schema"),
)


def test_the_demo_events_run_in_order_on_one_job(runtime: Runtime) -> None:
    functions = {agent: load_function(agent) for agent in dict(DEMO)}
    for module in functions.values():
        module.lambda_handler.runtime = runtime

    for agent, name in DEMO:
        event = load_event(agent, name)
        envelope_body(invoke(functions[agent], event, agent), event, 200)

    records = list(runtime.log.job(JOB))
    assert [(r.agent_name, r.action_name, r.status) for r in records] == [
        (agent, f"/{name}", Status.SUCCESS) for agent, name in DEMO
    ]
    stored = {info.key.split("/", 1)[1] for info in runtime.artifacts.list(JOB)}
    assert stored == {
        "requirements/requirements-analyst/extract-requirements_raw_response.json",
        "requirements/requirements-analyst/requirements.json",
        "requirements/requirements-analyst/complexity.json",
        "requirements/requirements-analyst/requirements_validation.json",
        "architecture/solution-architect/design-architecture_raw_response.json",
        "architecture/solution-architect/architecture.json",
        "architecture/solution-architect/services.json",
        "architecture/solution-architect/generate-iac_raw_response.json",
        "architecture/solution-architect/template.json",
        "code/code-generator/generate-lambda-code_raw_response.json",
        "code/code-generator/lambda_function.py",
        "code/code-generator/lambda_code.json",
        "code/code-generator/generate-agent-config_raw_response.json",
        "code/code-generator/agent_config.json",
        "code/code-generator/generate-openapi-schema_raw_response.json",
        "code/code-generator/openapi_schema.json",
    }
    # every URI a record points at is one of the stored objects
    uris = {info.uri for info in runtime.artifacts.list(JOB)}
    assert {u for r in records for u in r.artifacts_s3_uri} == uris
