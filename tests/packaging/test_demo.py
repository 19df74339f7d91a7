"""End to end: `make demo`'s job on the local stack, then the trail CLI proving it and catching tampering.

The job runs once per session (:func:`autoninja_cli.demo.run_scenario`: the committed friend-agent
scenario through the packaged functions, then its recorded agent trace), exactly as ``make demo``
runs it. The CLI is then driven in-process (``autoninja_cli.main.main``) against the same stack.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from autoninja.models import InferenceRecord, RecordKind, Status
from autoninja_cli.demo import DEFAULT_SCENARIO, DemoRun, load_scenario, run_scenario
from autoninja_cli.main import main
from autoninja_cli.trail import Trail

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

#: What the emulator cannot do, and so must end as honest 501 error records (ARCHITECTURE.md).
UNSUPPORTED = {
    "/configure-agent": "bedrock-agent CreateAgentActionGroup",
    "/test-deployment": "bedrock-agent-runtime InvokeAgent",
}


@pytest.fixture(scope="module")
def trail(stack: dict[str, Any]) -> Trail:
    return Trail.connect("local")


@pytest.fixture(scope="module")
def demo(trail: Trail, stack: dict[str, Any]) -> DemoRun:
    return run_scenario(trail, stack, load_scenario(DEFAULT_SCENARIO))


def _records(trail: Trail, job: str) -> list[InferenceRecord]:
    return list(trail.log.job(job))


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_every_operation_ran_and_only_the_unsupported_ones_failed(demo: DemoRun, trail: Trail) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert [step.api_path for step in demo.steps] == [
        json.loads(Path(step["event"]).read_text(encoding="utf-8"))["apiPath"] for step in scenario["steps"]
    ]
    assert len(demo.steps) == 16
    failed = {step.api_path: step for step in demo.steps if not step.ok}
    assert set(failed) == set(UNSUPPORTED)
    for path, api in UNSUPPORTED.items():
        assert failed[path].status == 501
        assert api in str(failed[path].error)

    actions = [r for r in _records(trail, demo.job_name) if r.record_kind == RecordKind.ACTION]
    assert len(actions) == 16
    by_status = {
        path: [r for r in actions if r.action_name == path] for path in {s.api_path for s in demo.steps}
    }
    for path, records in by_status.items():
        assert len(records) == 1, path
        expected = Status.ERROR if path in UNSUPPORTED else Status.SUCCESS
        assert records[0].status == expected, (path, records[0].error_message)
        assert records[0].prompt  # the raw event was logged first
    for path, api in UNSUPPORTED.items():
        record = by_status[path][0]
        assert record.error_type == "UnsupportedOperationError"
        assert api in str(record.error_message)


def test_model_invocations_carry_tokens_and_cost(demo: DemoRun, trail: Trail) -> None:
    models = [r for r in _records(trail, demo.job_name) if r.record_kind == RecordKind.MODEL_INVOCATION]
    assert len(models) == demo.trace.invocations == 21
    for record in models:
        assert record.status == Status.SUCCESS
        assert record.input_tokens and record.output_tokens
        assert record.cost_estimate is not None and record.cost_estimate > Decimal(0)
        assert record.prompt and record.response  # the full raw prompt and response
    assert sum(r.cost_estimate or Decimal(0) for r in models) == demo.trace.cost_estimate


def test_every_artifact_is_encrypted_with_the_project_key(
    demo: DemoRun, trail: Trail, s3: S3Client, stack: dict[str, Any]
) -> None:
    keys = [info.key for info in trail.artifacts.list(demo.job_name)]
    assert len(keys) == demo.seal["artifact_count"] + 1  # and the seal's manifest
    for record in _records(trail, demo.job_name):
        for uri in record.artifacts_s3_uri:
            assert uri.split("/", 3)[3] in keys, uri
    for key in keys:
        head = s3.head_object(Bucket=stack["artifact_bucket_name"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"].endswith(stack["kms_key_id"]), key


def test_the_sealed_job_verifies_with_a_valid_signature(
    demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.seal["signature"]
    status, out, _ = _cli(capsys, "trail", "verify", demo.job_name)
    assert status == 0, out
    assert f"{demo.job_name}: verified (sealed, signature valid; 37 records" in out


def test_an_altered_artifact_fails_verify_and_is_named(
    demo: DemoRun, s3: S3Client, stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = stack["artifact_bucket_name"]
    key = f"{demo.job_name}/requirements/requirements-analyst/requirements.json"
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    altered = original.replace(b"friend", b"fiend", 1)
    assert altered != original
    put = functools.partial(
        s3.put_object,
        Bucket=bucket,
        Key=key,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack["kms_key_arn"],
    )
    put(Body=altered)
    try:
        status, out, _ = _cli(capsys, "trail", "verify", demo.job_name)
        assert status == 1
        assert "NOT verified" in out
        assert f"first problem: artifact s3://{bucket}/{key}" in out
    finally:
        put(Body=original)
    assert _cli(capsys, "trail", "verify", demo.job_name)[0] == 0


def test_an_altered_record_fails_verify_and_is_named(
    demo: DemoRun,
    trail: Trail,
    dynamodb: DynamoDBClient,
    stack: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = next(r for r in _records(trail, demo.job_name) if r.action_name == "/validate-requirements")
    key = {"job_name": {"S": demo.job_name}, "record_id": {"S": target.record_id}}
    table = stack["inference_table_name"]
    set_status = functools.partial(
        dynamodb.update_item,
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
    )
    set_status(ExpressionAttributeValues={":s": {"S": "success "}})
    try:
        status, out, _ = _cli(capsys, "trail", "verify", demo.job_name)
        assert status == 1
        assert f"first problem: record {target.record_id}: its fields were altered" in out
    finally:
        set_status(ExpressionAttributeValues={":s": {"S": "success"}})
    assert _cli(capsys, "trail", "verify", demo.job_name)[0] == 0


def test_a_record_added_after_sealing_fails_verify(
    demo: DemoRun,
    trail: Trail,
    dynamodb: DynamoDBClient,
    stack: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = stack["inference_table_name"]
    source = dynamodb.get_item(
        TableName=table,
        Key={
            "job_name": {"S": demo.job_name},
            "record_id": {"S": _records(trail, demo.job_name)[0].record_id},
        },
    )["Item"]
    forged_id = source["record_id"]["S"][:-1] + ("0" if source["record_id"]["S"][-1] != "0" else "1")
    dynamodb.put_item(TableName=table, Item={**source, "record_id": {"S": forged_id}})
    try:
        status, out, _ = _cli(capsys, "trail", "verify", demo.job_name)
        assert status == 1
        assert "NOT verified" in out
        assert forged_id in out.split("first problem:")[1]
    finally:
        dynamodb.delete_item(
            TableName=table, Key={"job_name": {"S": demo.job_name}, "record_id": {"S": forged_id}}
        )
    assert _cli(capsys, "trail", "verify", demo.job_name)[0] == 0


def test_show_json_is_the_record_model(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _cli(capsys, "trail", "show", demo.job_name, "--json")
    assert status == 0
    records = [InferenceRecord.model_validate(entry) for entry in json.loads(out)]
    assert len(records) == 37
    assert {r.job_name for r in records} == {demo.job_name}


def test_the_summary_adds_up(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _cli(capsys, "trail", "summary", demo.job_name)
    assert status == 0
    assert f"{demo.job_name}: 37 records (2 error, 35 success)" in out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL"))
    assert f"${demo.trace.cost_estimate:.6f}" in total
    assert str(demo.trace.input_tokens) in total.split()
