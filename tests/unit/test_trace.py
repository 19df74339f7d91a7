"""Agent traces become model-invocation records: complete, priced, exactly once, as they arrive."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from autoninja.artifacts import InMemoryObjectStore
from autoninja.models import RecordKind, Status
from autoninja.pricing import PRICE_TABLE_VERSION, cost
from autoninja.records import InferenceLog, InMemoryInferenceTable, WriteOutcome
from autoninja.trace import (
    NO_OUTPUT_ERROR,
    TraceAssembler,
    TraceRecorder,
    autoninja_agent_name,
    load_events,
    replay,
    to_jsonable,
)
from tests.traces import generate

JOB = "job-friend-20261203-120000"
SESSION = "demo-session-friend"
THRESHOLD = 100_000
RECORD_ID = re.compile(r"^rec#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{16}$")
COLLABORATORS = {
    "RequirementsAnalyst": "requirements-analyst",
    "SolutionArchitect": "solution-architect",
    "CodeGenerator": "code-generator",
    "QualityValidator": "quality-validator",
    "DeploymentManager": "deployment-manager",
}


@pytest.fixture
def objects() -> InMemoryObjectStore:
    return InMemoryObjectStore()


@pytest.fixture
def table() -> InMemoryInferenceTable:
    return InMemoryInferenceTable()


@pytest.fixture
def log(table: InMemoryInferenceTable, objects: InMemoryObjectStore) -> InferenceLog:
    return InferenceLog(table, objects, payload_threshold_bytes=THRESHOLD)


@pytest.fixture(scope="module")
def friend_events() -> list[dict[str, Any]]:
    return load_events(generate.FRIEND_TRACE)


# --------------------------------------------------------------------------------------------------
# What the trace holds, read straight from the raw events (not through the code under test)


def _steps(events: list[dict[str, Any]], name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(TracePart, modelInvocationInput/Output) for every part carrying ``name``, in stream order."""
    found = []
    for event in events:
        part = event.get("trace")
        if not part:
            continue
        for kind in part["trace"].values():
            if isinstance(kind, dict) and name in kind:
                found.append((part, kind[name]))
    return found


def _step(event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The step an event carries (``modelInvocationOutput``, ``failureTrace``...) and its body."""
    part = event.get("trace")
    if not part:
        return None, {}
    ((kind, body),) = part["trace"].items()
    if kind == "failureTrace":
        return kind, body
    ((name, step),) = body.items()
    return name, step


def _ts(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _records(log: InferenceLog, job: str = JOB) -> list[Any]:
    return list(log.job(job))


# --------------------------------------------------------------------------------------------------
# The recorded multi-agent trace


def test_every_model_invocation_becomes_one_complete_priced_record(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    # Given the recorded InvokeAgent trace of "I would like a friend agent"
    inputs = _steps(friend_events, "modelInvocationInput")
    outputs = {o["traceId"]: (part, o) for part, o in _steps(friend_events, "modelInvocationOutput")}
    assert len(inputs) == len(outputs) >= 20

    # When it is replayed into the log
    summary = replay(log, generate.FRIEND_TRACE, job_name=JOB)

    # Then each invocation is exactly one record holding the full prompt and response
    records = {r.trace_id: r for r in _records(log)}  # type: ignore[attr-defined]
    assert len(records) == len(inputs) == summary.invocations
    assert summary.errors == 0
    assert summary.outcomes == {"written": len(inputs)}
    for part, given in inputs:
        record = records[given["traceId"]]
        out_part, produced = outputs[given["traceId"]]
        usage = produced["metadata"]["usage"]
        assert record.prompt == given["text"]
        assert record.response == produced["rawResponse"]["content"]
        assert record.status is Status.SUCCESS
        assert record.record_kind is RecordKind.MODEL_INVOCATION
        assert record.action_name == "model:orchestration"
        assert record.session_id == SESSION
        assert record.model_id == given["foundationModel"]
        assert record.input_tokens == usage["inputTokens"] > 0
        assert record.output_tokens == usage["outputTokens"] > 0
        assert record.tokens_used == usage["inputTokens"] + usage["outputTokens"]
        expected_cost = cost(given["foundationModel"], usage["inputTokens"], usage["outputTokens"]).amount
        assert isinstance(record.cost_estimate, Decimal)
        assert record.cost_estimate == expected_cost
        assert record.cost_estimate > 0
        assert record.priced is True  # type: ignore[attr-defined]
        assert record.price_table_version == PRICE_TABLE_VERSION  # type: ignore[attr-defined]
        assert record.timestamp == _ts(part["eventTime"])
        assert record.completed_at == _ts(out_part["eventTime"])  # type: ignore[attr-defined]
        assert record.duration_seconds == Decimal(produced["metadata"]["totalTimeMs"]) / 1000
        assert RECORD_ID.match(record.record_id)
        assert record.record_id.startswith(f"rec#{record.timestamp}#")
        assert record.error_type is None


def test_records_are_attributed_to_the_supervisor_and_the_five_collaborators(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    expected = Counter(
        COLLABORATORS[part["collaboratorName"]] if len(part["callerChain"]) > 1 else "supervisor"
        for part, _ in _steps(friend_events, "modelInvocationInput")
    )
    assert set(expected) == {"supervisor", *COLLABORATORS.values()}

    summary = replay(log, friend_events, job_name=JOB)

    assert Counter(r.agent_name for r in _records(log)) == expected
    assert {name: usage.invocations for name, usage in summary.by_agent.items()} == dict(expected)
    collaborator_records = [r for r in _records(log) if r.agent_name != "supervisor"]
    assert all(r.collaborator_name in COLLABORATORS for r in collaborator_records)  # type: ignore[attr-defined]
    assert all(len(r.caller_chain) == 2 for r in collaborator_records)  # type: ignore[attr-defined]


def test_the_summary_adds_up_to_what_the_table_holds(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    summary = replay(log, friend_events, job_name=JOB)

    records = _records(log)
    assert summary.input_tokens == sum(r.input_tokens for r in records) > 10_000
    assert summary.output_tokens == sum(r.output_tokens for r in records) > 5_000
    assert summary.cost_estimate == sum(r.cost_estimate for r in records) > Decimal("0.1")
    assert summary.unpriced == 0
    assert summary.cost_label == f"${summary.cost_estimate}"
    assert summary.record_ids == tuple(r.record_id for r in sorted(records, key=lambda r: r.timestamp))
    table_totals = log.summary(JOB).total
    assert table_totals.tokens_used == summary.tokens_used
    assert table_totals.cost_estimate == summary.cost_estimate


def test_replaying_the_same_trace_adds_nothing(
    log: InferenceLog, table: InMemoryInferenceTable, friend_events: list[dict[str, Any]]
) -> None:
    first = replay(log, friend_events, job_name=JOB)
    items = copy.deepcopy(table.items)

    second = replay(log, friend_events, job_name=JOB)

    assert table.items == items  # not one item added or changed
    assert second.outcomes == {"already_applied": first.invocations}
    assert second.record_ids == first.record_ids
    assert (second.input_tokens, second.cost_estimate) == (first.input_tokens, first.cost_estimate)


def test_a_live_stream_with_boto3_datetimes_maps_to_the_same_records(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    # boto3 yields eventTime as datetime and chunk bytes as bytes; the recorded file holds strings.
    live = copy.deepcopy(friend_events)
    for event in live:
        if "trace" in event:
            event["trace"]["eventTime"] = datetime.fromisoformat(event["trace"]["eventTime"])
        if "chunk" in event:
            event["chunk"]["bytes"] = event["chunk"]["bytes"].encode()
    first = replay(log, live, job_name=JOB)

    second = replay(log, friend_events, job_name=JOB)

    assert second.outcomes == {"already_applied": first.invocations}
    assert to_jsonable(live) == friend_events  # what the CLI saves is what replay reads


def test_each_invocation_is_written_the_moment_its_output_arrives(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    recorder = TraceRecorder(log, job_name=JOB)
    written = 0
    for event in friend_events:
        completes = _step(event)[0] == "modelInvocationOutput"
        outcomes = recorder.feed(event)
        if completes:
            written += 1
            assert outcomes == [WriteOutcome.WRITTEN]
        else:
            assert outcomes == []
        assert len(_records(log)) == written  # nothing waits for the end of the stream
    assert recorder.close().invocations == written


def test_the_same_events_in_json_lines_replay_identically(
    log: InferenceLog, friend_events: list[dict[str, Any]], tmp_path: Path
) -> None:
    lines = tmp_path / "friend.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in friend_events) + "\n", encoding="utf-8")
    first = replay(log, lines, job_name=JOB)

    again = replay(log, str(generate.FRIEND_TRACE), job_name=JOB)

    assert first.outcomes == {"written": first.invocations}
    assert again.outcomes == {"already_applied": first.invocations}


# --------------------------------------------------------------------------------------------------
# Failures and streams that end early


def test_a_failure_trace_becomes_error_records(log: InferenceLog) -> None:
    events = load_events(generate.FAILURE_TRACE)
    (_, collaborator_input) = next(
        (p, i) for p, i in _steps(events, "modelInvocationInput") if p.get("collaboratorName")
    )
    failures = [e["trace"]["trace"]["failureTrace"] for e in events if "failureTrace" in e["trace"]["trace"]]
    assert len(failures) == 2

    job = generate.FAILURE_JOB_NAME
    summary = replay(log, events, job_name=job)

    records = _records(log, job)
    assert Counter(r.status for r in records) == {Status.SUCCESS: 1, Status.ERROR: 2}
    assert (summary.invocations, summary.errors) == (1, 2)
    throttled = next(r for r in records if r.error_type == "429")
    # The collaborator's model call failed: its record keeps the full prompt it was sent
    assert throttled.agent_name == "code-generator"
    assert throttled.session_id == generate.FAILURE_SESSION_ID
    assert throttled.prompt == collaborator_input["text"]
    assert throttled.response is None
    assert throttled.error_message == failures[0]["failureReason"]
    assert throttled.action_name == "model:orchestration"
    assert throttled.duration_seconds == Decimal("30.012")
    supervisor = next(r for r in records if r.error_type == "500")
    assert supervisor.agent_name == "supervisor"
    assert supervisor.action_name == "model:failure"
    assert supervisor.error_message == failures[1]["failureReason"]
    assert json.loads(supervisor.prompt)["failureTrace"]["failureCode"] == 500  # the raw failure
    assert supervisor.cost_estimate is None


def test_a_failure_without_a_code_is_an_agent_failure(log: InferenceLog) -> None:
    event = {
        "trace": {
            "sessionId": "s-1",
            "eventTime": "2026-12-03T10:00:00Z",
            "trace": {"failureTrace": {"traceId": "t-1", "failureReason": "Internal error"}},
        }
    }
    replay(log, [event, event], job_name=JOB)  # a repeated part is one fact

    (record,) = _records(log)
    assert (record.status, record.error_type, record.error_message) == (
        Status.ERROR,
        "AgentFailure",
        "Internal error",
    )
    assert record.timestamp == "2026-12-03T10:00:00.000000Z"


def test_an_input_whose_output_never_arrives_is_an_error_at_the_end(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    # Given a stream cut right after the supervisor's last model input
    (_, last_input) = _steps(friend_events, "modelInvocationInput")[-1]
    cut = next(i for i, e in enumerate(friend_events) if _step(e) == ("modelInvocationInput", last_input))
    recorder = TraceRecorder(log, job_name=JOB)
    for event in friend_events[: cut + 1]:
        recorder.feed(event)
    assert all(r.status is Status.SUCCESS for r in _records(log))  # nothing is assumed before the end

    # When the stream ends
    summary = recorder.close()

    # Then the dangling input is an error record with its full prompt
    (dangling,) = [r for r in _records(log) if r.status is Status.ERROR]
    assert (summary.errors, summary.invocations) == (1, len(_records(log)) - 1)
    assert dangling.error_type == NO_OUTPUT_ERROR
    assert "no model output in the trace" in (dangling.error_message or "")
    assert dangling.prompt == last_input["text"]
    assert dangling.response is None
    assert dangling.agent_name == "supervisor"
    assert dangling.priced is False  # type: ignore[attr-defined]


def test_a_conflicting_later_trace_is_reported_not_overwritten(
    log: InferenceLog, friend_events: list[dict[str, Any]]
) -> None:
    # Given the "no output" error recorded from a truncated stream
    (_, last_input) = _steps(friend_events, "modelInvocationInput")[-1]
    outputs = [e for e in friend_events if _step(e)[0] == "modelInvocationOutput"]
    (last_output,) = [e for e in outputs if _step(e)[1]["traceId"] == last_input["traceId"]]
    truncated = [e for e in friend_events if e is not last_output]
    assert len(truncated) == len(friend_events) - 1
    first = replay(log, truncated, job_name=JOB)
    assert first.errors == 1

    # When the complete trace is replayed later
    second = replay(log, friend_events, job_name=JOB)

    # Then the existing record is kept and the conflict reported; the rest is already there
    (conflict,) = second.conflicts
    assert log.get(JOB, conflict).status is Status.ERROR
    assert second.outcomes == {"already_applied": second.invocations - 1}


# --------------------------------------------------------------------------------------------------
# Large prompts and unknown models


def test_a_prompt_over_400_kb_round_trips_intact(
    log: InferenceLog, table: InMemoryInferenceTable, objects: InMemoryObjectStore
) -> None:
    events = generate.large_prompt_trace(min_prompt_bytes=420_000)
    ((_, given),) = _steps(events, "modelInvocationInput")
    assert len(given["text"].encode()) > 400_000

    replay(log, events, job_name=JOB)

    (record,) = _records(log)
    assert record.prompt == given["text"]  # every byte, rehydrated from S3
    (item,) = table.items.values()
    assert "prompt" not in item  # offloaded, not truncated into the item
    assert item["prompt_s3_uri"].startswith(f"s3://{objects.bucket}/{JOB}/")
    assert item["prompt_bytes"] == len(given["text"].encode())
    assert record.input_tokens > 100_000
    assert record.cost_estimate > 0


def test_an_unknown_model_is_recorded_unpriced(log: InferenceLog, table: InMemoryInferenceTable) -> None:
    summary = replay(log, generate.UNKNOWN_MODEL_TRACE, job_name=JOB)

    records = _records(log)
    assert [r.action_name for r in records] == ["model:pre-processing", "model:orchestration"]
    for record, item in zip(records, sorted(table.items.values(), key=lambda i: i["record_id"]), strict=True):
        assert record.priced is False  # type: ignore[attr-defined]
        assert "cost_estimate" not in item  # absent, never $0
        assert record.cost_estimate is None
        assert record.price_table_version == PRICE_TABLE_VERSION  # type: ignore[attr-defined]
        assert record.unpriced_reason.startswith("unpriced:")  # type: ignore[attr-defined]
        assert record.input_tokens > 0  # usage is still recorded
    assert records[0].model_id.startswith("arn:aws:bedrock:")  # type: ignore[union-attr]
    assert records[0].prompt_type == "PRE_PROCESSING"  # type: ignore[attr-defined]
    assert (summary.unpriced, summary.cost_label) == (2, "unpriced")


# --------------------------------------------------------------------------------------------------
# Pairing and naming


def _part(producer: str, kind: str, step: dict[str, Any], at: str, *, chain: int = 2) -> dict[str, Any]:
    callers = ["arn:aws:bedrock:us-east-1:1:agent-alias/SUPER/A"]
    if chain == 2:
        callers.append(f"arn:aws:bedrock:us-east-1:1:agent-alias/{producer.upper()[:10]}/A")
    part = {
        "sessionId": SESSION,
        "eventTime": at,
        "callerChain": [{"agentAliasArn": arn} for arn in callers],
        "trace": {kind: step},
    }
    if chain == 2:
        part["collaboratorName"] = producer
    return {"trace": part}


def _input(trace_id: str, text: str, kind: str = "ORCHESTRATION") -> dict[str, Any]:
    return {
        "modelInvocationInput": {
            "traceId": trace_id,
            "text": text,
            "type": kind,
            "foundationModel": "anthropic.claude-3-haiku-20240307-v1:0",
        }
    }


def _output(trace_id: str, content: str, tokens: tuple[int, int] = (10, 5)) -> dict[str, Any]:
    usage = {"inputTokens": tokens[0], "outputTokens": tokens[1]}
    return {
        "modelInvocationOutput": {
            "traceId": trace_id,
            "rawResponse": {"content": content},
            "metadata": {"usage": usage},
        }
    }


def test_interleaved_agents_sharing_a_trace_id_are_paired_by_agent(log: InferenceLog) -> None:
    events = [
        _part(
            "CodeGenerator",
            "orchestrationTrace",
            _input("same-0", "prompt of the code generator"),
            "2026-12-03T10:00:01Z",
        ),
        _part(
            "QualityValidator",
            "orchestrationTrace",
            _input("same-0", "prompt of the validator"),
            "2026-12-03T10:00:02Z",
        ),
        {"chunk": {"bytes": "ignored"}},
        {"returnControl": {"invocationId": "x"}},
        _part(
            "QualityValidator",
            "orchestrationTrace",
            _output("same-0", "validator says"),
            "2026-12-03T10:00:03Z",
        ),
        _part(
            "CodeGenerator", "orchestrationTrace", _output("same-0", "generator says"), "2026-12-03T10:00:04Z"
        ),
    ]

    summary = replay(log, events, job_name=JOB)

    pairs = {(r.agent_name, r.prompt, r.response) for r in _records(log)}
    assert pairs == {
        ("code-generator", "prompt of the code generator", "generator says"),
        ("quality-validator", "prompt of the validator", "validator says"),
    }
    assert (summary.events, summary.trace_parts, summary.invocations) == (6, 4, 2)


@pytest.mark.parametrize(
    ("trace_kind", "action_name"),
    [
        ("preProcessingTrace", "model:pre-processing"),
        ("postProcessingTrace", "model:post-processing"),
        ("routingClassifierTrace", "model:routing-classifier"),
        ("orchestrationTrace", "model:orchestration"),
    ],
)
def test_every_model_trace_kind_is_recorded(log: InferenceLog, trace_kind: str, action_name: str) -> None:
    events = [
        _part("x", trace_kind, _input("k-0", "p"), "2026-12-03T10:00:01Z", chain=1),
        _part("x", trace_kind, _output("k-0", "r"), "2026-12-03T10:00:02Z", chain=1),
    ]
    replay(log, events, job_name=JOB)

    (record,) = _records(log)
    assert (record.action_name, record.agent_name, record.prompt, record.response) == (
        action_name,
        "supervisor",
        "p",
        "r",
    )


def test_a_bare_trace_part_is_accepted_and_guardrail_steps_are_not_invocations() -> None:
    assembler = TraceAssembler()
    bare = _part("x", "orchestrationTrace", _input("b-0", "p"), "2026-12-03T10:00:01Z", chain=1)["trace"]
    guardrail = {"trace": {"sessionId": SESSION, "trace": {"guardrailTrace": {"action": "NONE"}}}}

    assert assembler.add(bare) == []
    assert assembler.add(guardrail) == []
    assert assembler.pending == 1
    (fact,) = assembler.finish()
    assert (fact.prompt, fact.error_type) == ("p", NO_OUTPUT_ERROR)


@pytest.mark.parametrize(
    ("bedrock_name", "expected"),
    [
        (None, "supervisor"),
        ("RequirementsAnalyst", "requirements-analyst"),
        ("autoninja-solution-architect", "solution-architect"),
        ("autoninja_code_generator_dev", "code-generator"),
        ("QUALITY-VALIDATOR", "quality-validator"),
        ("Deployment Manager", "deployment-manager"),
        ("WeatherHelper", "weather-helper"),
    ],
)
def test_bedrock_agent_names_map_to_autoninja_names(bedrock_name: str | None, expected: str) -> None:
    assert autoninja_agent_name(bedrock_name) == expected


def test_a_custom_agent_name_mapping_is_used(log: InferenceLog, friend_events: list[dict[str, Any]]) -> None:
    seen: set[str | None] = set()

    def name_for(collaborator: str | None) -> str:
        seen.add(collaborator)
        return f"x-{collaborator or 'top'}".lower()

    replay(log, friend_events, job_name=JOB, agent_name_for=name_for)

    assert seen == {None, *COLLABORATORS}
    assert {r.agent_name for r in _records(log)} == {"x-top", *(f"x-{c.lower()}" for c in COLLABORATORS)}


def test_committed_traces_match_their_generator() -> None:
    assert load_events(generate.FAILURE_TRACE) == generate.failure_trace()
    assert load_events(generate.UNKNOWN_MODEL_TRACE) == generate.unknown_model_trace()
    assert generate.FRIEND_TRACE.stat().st_size < 330_000  # the demo trace stays small


def test_the_summary_reads_as_one_line(log: InferenceLog, friend_events: list[dict[str, Any]]) -> None:
    summary = replay(log, friend_events, job_name=JOB)

    line = str(summary)
    assert line.startswith(
        f"{summary.invocations} model invocations, 0 errors, {summary.tokens_used:,} tokens"
    )
    assert f"${summary.cost_estimate} (price table {PRICE_TABLE_VERSION})" in line
    assert line.endswith(f"records: {summary.invocations} written")
