"""Helpers for testing the action-group functions in-process: load one, give it a context, invoke it.

Every function is a folder ``functions/<agent>/`` holding one ``app.py``. Five of them share that file
name, so each is imported under its own module name (``autoninja_fn_<agent>``) and never as ``app``.
Their settings are read from the environment at import time, so set :data:`FUNCTION_ENV` first (with
``monkeypatch.setenv``), then swap the runtime for the in-memory fakes::

    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    module = load_function("requirements-analyst")
    runtime = Runtime.in_memory(Settings.from_env())
    module.lambda_handler.runtime = runtime
    response = module.lambda_handler(load_event("requirements-analyst", "extract-requirements"),
                                     lambda_context("requirements-analyst"))
    response_body(response)                       # the operation's JSON body, parsed
    list(runtime.log.job("job-friend-20261203-120000"))   # the records written
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from autoninja.models import COLLABORATORS

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
EVENTS_DIR = REPO_ROOT / "tests" / "events"
#: The five function folders' agents, in the order the supervisor calls them.
AGENTS: tuple[str, ...] = tuple(str(agent) for agent in COLLABORATORS)

#: The environment a function needs at import (what Terraform gives it; values are test names).
FUNCTION_ENV: dict[str, str] = {
    "AUTONINJA_INFERENCE_TABLE": "autoninja-test-inference-records",
    "AUTONINJA_ARTIFACT_BUCKET": "autoninja-test-artifacts",
    "AUTONINJA_KMS_KEY_ID": "alias/autoninja-test",
    "POWERTOOLS_METRICS_NAMESPACE": "AutoNinja",
}


def module_name(agent: str) -> str:
    """The unique module name a function's ``app.py`` is imported under."""
    return f"autoninja_fn_{agent.replace('-', '_')}"


def load_function(agent: str) -> ModuleType:
    """Import ``functions/<agent>/app.py`` afresh under :func:`module_name` and return the module.

    The module is registered in ``sys.modules`` before it runs (pydantic resolves its postponed
    annotations there), replacing any earlier import of the same function.
    """
    path = FUNCTIONS_DIR / agent / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no function {agent!r}: {path} does not exist")
    name = module_name(agent)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of a Lambda context that Powertools' logger reads."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's remaining-time query; tests have all the time they need."""
        return 30_000


def lambda_context(agent: str = "requirements-analyst", request_id: str | None = None) -> LambdaContext:
    """A Lambda context for the function of ``agent`` (named the way Terraform names it)."""
    function_name = f"autoninja-{agent}"
    return LambdaContext(
        function_name=function_name,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        aws_request_id=request_id or LambdaContext.aws_request_id,
        log_group_name=f"/aws/lambda/{function_name}",
    )


def load_event(agent: str, name: str) -> dict[str, Any]:
    """The committed event ``tests/events/<agent>/<name>.json`` (``name`` may be ``invalid/<file>``)."""
    path = EVENTS_DIR / agent / f"{name}.json"
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def event_names(agent: str, folder: str = "") -> list[str]:
    """The names (for :func:`load_event`) of the committed events of ``agent``, optionally in a folder."""
    base = EVENTS_DIR / agent
    directory = base / folder if folder else base
    return sorted(str(path.relative_to(base).with_suffix("")) for path in directory.glob("*.json"))


def bedrock_event(
    *,
    api_path: str,
    properties: dict[str, str],
    agent: str = "requirements-analyst",
    action_group: str | None = None,
    session_id: str = "demo-session-friend",
    input_text: str = "I would like a friend agent",
    http_method: str = "POST",
) -> dict[str, Any]:
    """A Bedrock action-group event in the exact shape Bedrock sends (every value a string)."""
    return {
        "messageVersion": "1.0",
        "agent": {
            "name": f"autoninja-{agent}",
            "id": "AGENT00001",
            "alias": "TSTALIASID",
            "version": "DRAFT",
        },
        "inputText": input_text,
        "sessionId": session_id,
        "actionGroup": action_group or f"{agent}-actions",
        "apiPath": api_path,
        "httpMethod": http_method,
        "parameters": [],
        "requestBody": {
            "content": {
                "application/json": {
                    "properties": [
                        {"name": name, "type": "string", "value": value} for name, value in properties.items()
                    ]
                }
            }
        },
        "sessionAttributes": {},
        "promptSessionAttributes": {},
    }


def with_properties(event: dict[str, Any], **changes: str | None) -> dict[str, Any]:
    """A copy of ``event`` with body properties replaced, added, or removed (value ``None``)."""
    copy: dict[str, Any] = json.loads(json.dumps(event))
    content = copy["requestBody"]["content"]["application/json"]
    props = {p["name"]: p["value"] for p in content["properties"]}
    for name, value in changes.items():
        if value is None:
            props.pop(name, None)
        else:
            props[name] = value
    content["properties"] = [{"name": n, "type": "string", "value": v} for n, v in props.items()]
    return copy


def event_properties(event: dict[str, Any]) -> dict[str, str]:
    """The body properties of a Bedrock event as ``{name: value}``."""
    content = event["requestBody"]["content"]["application/json"]
    return {p["name"]: p["value"] for p in content["properties"]}


def response_status(response: dict[str, Any]) -> int:
    """The HTTP status of a Bedrock action-group response envelope."""
    status: int = response["response"]["httpStatusCode"]
    return status


def response_body(response: dict[str, Any]) -> Any:
    """The JSON body of a Bedrock action-group response envelope, parsed."""
    return json.loads(response["response"]["responseBody"]["application/json"]["body"])


def envelope_body(response: dict[str, Any], event: dict[str, Any], status: int) -> Any:
    """Check that ``response`` is a Bedrock envelope answering ``event`` with ``status``; its parsed body.

    Bedrock rejects a response whose action group, path or method differ from the event's, so those
    are checked along with the status and the JSON body.
    """
    assert response["messageVersion"] == "1.0"
    inner = response["response"]
    body = json.loads(inner["responseBody"]["application/json"]["body"])
    assert inner["httpStatusCode"] == status, body
    assert inner["actionGroup"] == event["actionGroup"]
    assert inner["apiPath"] == event["apiPath"]
    assert inner["httpMethod"] == event["httpMethod"]
    return body


def action_records(runtime: Any, agent: str) -> list[Any]:
    """Every record the function of ``agent`` wrote to the runtime's log, oldest first, whatever the job."""
    return list(runtime.log.agent(agent))
