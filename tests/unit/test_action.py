"""The persisted-action flow itself, with a tiny resolver, over the in-memory fakes."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body

from autoninja.action import (
    MAX_MESSAGE_TO_AGENT,
    PersistedAction,
    Runtime,
    current_action,
    envelope_problem,
    event_job_name,
)
from autoninja.contract import JobRequest, JsonObject
from autoninja.errors import ConversionError
from autoninja.models import Status
from autoninja.settings import Settings
from tests.support.functions import FUNCTION_ENV, bedrock_event, lambda_context

JOB = "job-probe-20261203-101010"


class Probe(JobRequest):
    mode: str
    payload: JsonObject | None = None


def build(monkeypatch: pytest.MonkeyPatch) -> tuple[PersistedAction, Runtime]:
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    app = BedrockAgentResolver(enable_validation=True)

    @app.post("/probe", description="A probe operation for the flow's tests")
    def probe(body: Annotated[Probe, Body()]) -> dict[str, Any]:
        action = current_action()
        action.store("probe_raw_response.json", {"mode": body.mode})
        if body.mode == "convert-fails":
            raise ConversionError("no JSON in the model output")
        if body.mode == "crash":
            raise RuntimeError("boom")
        action.store("probe.json", body.payload or {})
        return {"ok": True, "mode": body.mode}

    runtime = Runtime.in_memory(Settings.from_env())
    return PersistedAction(app, agent_name="code-generator", runtime=runtime), runtime


@contextlib.contextmanager
def captured_logs(handler: PersistedAction) -> Iterator[io.StringIO]:
    """The function's log lines, formatted by Powertools' own JSON formatter."""
    logger = handler.observability.logger
    sink = io.StringIO()
    capture = logging.StreamHandler(sink)
    capture.setFormatter(logger.registered_handler.formatter)
    logger.addHandler(capture)
    try:
        yield sink
    finally:
        logger.removeHandler(capture)


def invoke(handler: PersistedAction, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler(event, lambda_context("code-generator"))
    assert response["messageVersion"] == "1.0"
    inner = response["response"]
    return inner["httpStatusCode"], json.loads(inner["responseBody"]["application/json"]["body"])


def event(**props: str) -> dict[str, Any]:
    return bedrock_event(api_path="/probe", action_group="code", properties=props)


def records(runtime: Runtime, job: str = JOB) -> list[Any]:
    return list(runtime.log.job(job))


def every_record(runtime: Runtime) -> list[dict[str, Any]]:
    """Every record item in the fake table, whatever job it was filed under."""
    items = runtime.log.table.items.values()  # type: ignore[attr-defined]
    return [item for item in items if item["record_id"].startswith("rec#")]


def test_success_is_recorded_after_the_artifacts_with_their_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    handler, runtime = build(monkeypatch)
    status, body = invoke(handler, event(job_name=JOB, mode="ok", payload='{"a": 1}'))
    assert (status, body) == (200, {"ok": True, "mode": "ok"})
    (record,) = records(runtime)
    assert record.status is Status.SUCCESS
    assert json.loads(record.prompt or "")["apiPath"] == "/probe"  # the raw event, first
    assert json.loads(record.response or "") == body
    assert [uri.rsplit("/", 1)[-1] for uri in record.artifacts_s3_uri] == [
        "probe_raw_response.json",
        "probe.json",
    ]
    assert runtime.artifacts.get_json(JOB, "code", "code-generator", "probe.json") == {"a": 1}


def test_conversion_failure_is_a_422_and_an_error_record_keeping_the_raw_artifact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, runtime = build(monkeypatch)
    status, body = invoke(handler, event(job_name=JOB, mode="convert-fails"))
    assert status == 422 and body["error"] == "ConversionError"
    (record,) = records(runtime)
    assert (record.status, record.error_type) == (Status.ERROR, "ConversionError")
    assert "no JSON" in (record.error_message or "")
    assert len(record.artifacts_s3_uri) == 1


def test_an_unexpected_exception_becomes_a_500_envelope_and_an_error_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, runtime = build(monkeypatch)
    status, body = invoke(handler, event(job_name=JOB, mode="crash"))
    assert status == 500 and body == {"error": "RuntimeError", "message": "boom"}
    assert [(r.status, r.error_type) for r in records(runtime)] == [(Status.ERROR, "RuntimeError")]


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"mode": "ok"}, "job_name"),
        ({"job_name": "job-BAD", "mode": "ok"}, "job_name"),
        ({"job_name": JOB, "mode": "ok", "payload": "{not json"}, "payload"),
    ],
)
def test_invalid_requests_are_400s_naming_the_field_and_still_recorded(
    monkeypatch: pytest.MonkeyPatch, props: dict[str, str], field: str
) -> None:
    handler, runtime = build(monkeypatch)
    status, body = invoke(handler, event(**props))
    assert status == 400 and body["error"] == "InvalidRequest"
    assert field in body["message"]
    (item,) = every_record(runtime)
    assert item["status"] == "error" and item["error_type"] == "RequestValidationError"
    assert item["error_message"] == body["message"]  # the record says what the agent was told
    expected_job = JOB if props.get("job_name") == JOB else "job-unattributed-"
    assert item["job_name"].startswith(expected_job)


def test_a_malformed_event_gets_a_bedrock_envelope_and_an_unattributed_error_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, runtime = build(monkeypatch)
    response = handler({"garbage": True}, lambda_context("code-generator"))
    assert response["response"]["httpStatusCode"] == 400
    (item,) = every_record(runtime)
    assert item["job_name"].startswith("job-unattributed-") and item["status"] == "error"
    assert json.loads(item["prompt"]) == {"garbage": True}


def test_unknown_operations_are_404s_listing_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    handler, runtime = build(monkeypatch)
    status, body = invoke(
        handler, bedrock_event(api_path="/nope", action_group="code", properties={"job_name": JOB})
    )
    assert status == 404 and "POST /probe" in body["message"]
    (record,) = records(runtime)
    assert record.error_type == "NotFoundError" and record.error_message == body["message"]


def test_raw_prompts_are_not_logged_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    handler, _ = build(monkeypatch)
    secret = "the-users-private-words-" + "x" * 10
    with captured_logs(handler) as sink:
        invoke(handler, event(job_name=JOB, mode="crash", payload=json.dumps({"note": secret})))
    assert sink.getvalue(), "nothing was logged, so the check below would prove nothing"
    assert secret not in sink.getvalue()


def test_event_job_name_reads_parameters_and_body() -> None:
    assert event_job_name({"parameters": [{"name": "job_name", "value": JOB}]}) == JOB
    assert event_job_name(event(job_name=JOB)) == JOB
    assert event_job_name({"requestBody": "not a dict"}) is None
    assert event_job_name({"parameters": 7, "requestBody": {"content": {"application/json": []}}}) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"requestBody": "this is not JSON"}, "requestBody must be an object, not str"),
        ({"requestBody": {"content": None}}, "requestBody.content must be an object"),
        ({"requestBody": {"content": {"application/json": {"properties": {}}}}}, "must be a list, not dict"),
        ({"parameters": [{"value": "x"}]}, "parameters[0] must be an object with a string name"),
        ({"apiPath": 7}, "apiPath must be a non-empty string"),
        ({"httpMethod": ""}, "httpMethod must be a non-empty string"),
    ],
)
def test_a_wrongly_shaped_envelope_is_a_400_naming_the_problem_and_still_recorded(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], problem: str
) -> None:
    handler, runtime = build(monkeypatch)
    bad = {**event(job_name=JOB), **change}
    assert problem in str(envelope_problem(bad))

    status, body = invoke(handler, bad)

    assert status == 400 and body["error"] == "MalformedEvent" and problem in body["message"]
    (item,) = every_record(runtime)
    assert item["status"] == "error" and item["error_type"] == "MalformedEvent"
    assert json.loads(item["prompt"]) == bad


def test_a_well_formed_envelope_has_no_problem() -> None:
    assert envelope_problem(event(job_name=JOB)) is None


def test_a_huge_error_message_is_bounded_for_the_agent_and_the_raw_event_kept_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler, runtime = build(monkeypatch)
    path = "/" + "n" * 50_000
    capsys.readouterr()
    status, body = invoke(
        handler, bedrock_event(api_path=path, action_group="code", properties={"job_name": JOB})
    )
    assert status == 404
    assert len(body["message"]) < MAX_MESSAGE_TO_AGENT + 100
    assert "more characters on record" in body["message"]
    (record,) = records(runtime)
    assert json.loads(str(record.prompt))["apiPath"] == path  # the raw event is kept whole
    assert str(record.error_message).startswith(f"POST /{'n' * 1000}")
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert metrics and all(line["action"] == "unknown" for line in metrics)  # no unbounded dimension


def test_log_lines_carry_job_agent_and_action_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    handler, _ = build(monkeypatch)
    with captured_logs(handler) as sink:
        invoke(handler, event(job_name=JOB, mode="crash"))
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert lines, "no structured log line was written"
    assert all(line["job_name"] == JOB and line["action_name"] == "/probe" for line in lines)
    assert all(line["agent_name"] == "code-generator" for line in lines)
    assert all(line["correlation_id"] == "demo-session-friend" for line in lines)
