"""The ``autoninja`` CLI in-process, on moto in-process: output formats, errors, export/import, run.

The commands are pointed at the mocked resources the way an operator points them at AWS: with
``--env aws`` and the ``AUTONINJA_*`` variables (so no Terraform is involved here).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autoninja.models import InferenceRecord, RecordKind, Status
from autoninja.records import InferenceLog
from autoninja_cli.main import main
from autoninja_cli.run import record_stream
from autoninja_cli.trail import Trail
from tests.support.stack import create_inference_table

TABLE = "cli-inference-records"
BUCKET = "cli-artifacts"
JOB = "job-friend-20261203-120000"
TRACE = Path(__file__).resolve().parents[1] / "traces" / "friend-agent.json"


@pytest.fixture
def trail(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trail]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        create_inference_table(boto3.client("dynamodb"), TABLE)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        signing = boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")
        monkeypatch.setenv("AUTONINJA_INFERENCE_TABLE", TABLE)
        monkeypatch.setenv("AUTONINJA_ARTIFACT_BUCKET", BUCKET)
        monkeypatch.setenv("AUTONINJA_KMS_KEY_ID", key)
        monkeypatch.setenv("AUTONINJA_SIGNING_KEY_ID", signing["KeyMetadata"]["Arn"])
        yield Trail.connect("aws")


@pytest.fixture
def job(trail: Trail) -> str:
    """A job with action records (one offloaded body over the threshold) and the friend trace."""
    log: InferenceLog = trail.log
    for number, size in enumerate((10, 500_000, 20)):
        handle = log.start(
            job_name=JOB,
            agent_name="requirements-analyst",
            action_name=f"/step-{number}",
            session_id="cli-session",
            prompt="p" * size,
        )
        log.finish(handle, response=f"response {number}")
    failed = log.start(job_name=JOB, agent_name="code-generator", action_name="/broken", prompt="{}")
    log.fail(failed, error_type="ConversionError", error_message="no JSON in the model output")
    record_stream(trail, json.loads(TRACE.read_text(encoding="utf-8")), job_name=JOB, answer=io.StringIO())
    return JOB


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main([*argv, "--env", "aws"])
    out, err = capsys.readouterr()
    return status, out, err


def test_show_json_validates_against_the_record_model(job: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "trail", "show", job, "--json")

    assert status == 0
    records = [InferenceRecord.model_validate(entry) for entry in json.loads(out)]
    assert len(records) == 4 + 21
    big = next(r for r in records if r.action_name == "/step-1")
    assert big.prompt == "p" * 500_000  # offloaded body rehydrated, not truncated
    assert {r.record_kind for r in records} == {RecordKind.ACTION, RecordKind.MODEL_INVOCATION}


def test_export_then_import_into_an_empty_table_gives_identical_records(
    job: str, trail: Trail, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, exported, _ = cli(capsys, "trail", "export", job)
    assert status == 0
    lines = exported.splitlines()
    assert len(lines) == 25 and all(json.loads(line)["job_name"] == job for line in lines)
    before = [r.model_dump() for r in trail.log.job(job)]
    dump = tmp_path / "job.jsonl"
    dump.write_text(exported, encoding="utf-8")

    client = boto3.client("dynamodb")
    for record in trail.log.job(job):
        client.delete_item(
            TableName=TABLE, Key={"job_name": {"S": job}, "record_id": {"S": record.record_id}}
        )
    assert list(trail.log.job(job)) == []

    status, out, _ = cli(capsys, "trail", "import", str(dump))
    assert status == 0 and "imported 25 records (0 already present)" in out
    assert [r.model_dump() for r in trail.log.job(job)] == before
    assert cli(capsys, "trail", "export", job)[1] == exported

    status, out, _ = cli(capsys, "trail", "import", str(dump))
    assert "imported 0 records (25 already present)" in out  # exactly once


def test_summary_counts_statuses_and_totals_per_agent(job: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "trail", "summary", job)

    assert status == 0
    assert f"{job}: 25 records (1 error, 24 success)" in out
    assert out.splitlines()[-1].startswith("TOTAL")


def test_seal_then_verify_then_tamper(job: str, trail: Trail, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "trail", "verify", job)
    assert status == 0 and "verified (unsealed" in out

    status, out, _ = cli(capsys, "trail", "seal", job)
    assert status == 0 and "sealed 25 records" in out and "signed with" in out
    status, out, _ = cli(capsys, "trail", "verify", job)
    assert status == 0 and "verified (sealed, signature valid" in out

    victim = next(r for r in trail.log.job(job) if r.action_name == "/step-2")
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"job_name": {"S": job}, "record_id": {"S": victim.record_id}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "response"},
        ExpressionAttributeValues={":r": {"S": "a different answer"}},
    )
    status, out, _ = cli(capsys, "trail", "verify", job)
    assert status == 1
    assert f"first problem: record {victim.record_id}" in out


def test_jobs_lists_reserved_jobs(trail: Trail, capsys: pytest.CaptureFixture[str]) -> None:
    from autoninja.jobs import JobNameGenerator

    name = JobNameGenerator(trail.log.table).new("I would like a friend agent")
    status, out, _ = cli(capsys, "trail", "jobs")
    assert status == 0 and name in out and "I would like a friend agent" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("trail", "verify", "job-nothing-20260101-000000"), "no job named job-nothing-20260101-000000"),
        (("trail", "show", "not-a-job"), "job name 'not-a-job' does not match"),
        (("trail", "import", "/nonexistent/job.jsonl"), "No such file"),
        (("trail", "replay", JOB, "/nonexistent/trace.jsonl"), "No such file"),
    ],
)
def test_bad_arguments_get_one_line_and_a_non_zero_exit(
    trail: Trail, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    status, out, err = cli(capsys, *argv)

    assert status == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unknown_command_or_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["nonsense"], ["trail", "show"], ["trail", "jobs", "--env", "mars"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "usage: autoninja" in capsys.readouterr().err


def test_a_corrupt_import_line_names_the_line(
    trail: Trail, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dump = tmp_path / "bad.jsonl"
    dump.write_text('{"job_name": "x"\n', encoding="utf-8")
    status, _, err = cli(capsys, "trail", "import", str(dump))
    assert status == 2 and f"{dump}:1: not a JSON record" in err


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [["trail"], ["reconcile"], ["run"], ["invoke"], ["demo"]]
    commands += [
        ["trail", sub] for sub in ("jobs", "show", "summary", "verify", "seal", "export", "import", "replay")
    ]
    for argv in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--help"])
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out, argv


def test_run_records_the_stream_as_it_arrives_and_saves_what_replay_reads(
    trail: Trail, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events: list[dict[str, Any]] = json.loads(TRACE.read_text(encoding="utf-8"))
    live: list[dict[str, Any]] = []
    for event in events:  # boto3 hands chunk bytes as bytes
        copy = json.loads(json.dumps(event))
        if "chunk" in copy:
            copy["chunk"]["bytes"] = copy["chunk"]["bytes"].encode()
        live.append(copy)
    answer, saved = io.StringIO(), io.StringIO()

    summary = record_stream(trail, iter(live), job_name=JOB, answer=answer, save=saved)

    assert summary.invocations == 21 and summary.outcomes == {"written": 21}
    models = [r for r in trail.log.job(JOB) if r.record_kind == RecordKind.MODEL_INVOCATION]
    assert len(models) == 21 and all(r.status == Status.SUCCESS and r.tokens_used for r in models)
    assert answer.getvalue() == "".join(e["chunk"]["bytes"] for e in events if "chunk" in e)
    trace_file = tmp_path / "trace.jsonl"
    trace_file.write_text(saved.getvalue(), encoding="utf-8")
    status, out, _ = cli(capsys, "trail", "replay", JOB, str(trace_file))
    assert status == 0 and "already_applied" in out and "written" not in out.split("records:")[1]


def test_reconcile_with_nothing_dead_lettered(trail: Trail, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "reconcile")
    assert status == 0 and "reconciled: 0 replayed, 0 already present, 0 failed" in out
