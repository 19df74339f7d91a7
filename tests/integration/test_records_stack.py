"""The records contract, and the failure cases, against the emulator over HTTP.

Resources come from Terraform (``tf_outputs``); nothing of AWS is mocked. Faults come from a real
loopback proxy or a closed port, never from patching boto3.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config

from autoninja.artifacts import S3ObjectStore
from autoninja.jobs import format_job_name
from autoninja.models import Status
from autoninja.records import DynamoInferenceTable, InferenceLog, WriteOutcome
from tests.contracts.records_contract import RecordsContract, start
from tests.support.faultproxy import FaultProxy

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=1, read_timeout=5)


def make_log(outputs: dict[str, Any], dynamodb_endpoint: str = ENDPOINT, **config: Any) -> InferenceLog:
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=dynamodb_endpoint, config=Config(**config) if config else RETRIES
    )
    s3 = boto3.client("s3", config=RETRIES)
    return InferenceLog(
        DynamoInferenceTable(outputs["inference_table_name"], client=dynamodb),
        S3ObjectStore(outputs["artifact_bucket_name"], outputs["kms_key_arn"], client=s3),
        payload_threshold_bytes=100_000,
    )


@pytest.fixture
def job_name(tf_outputs: dict[str, Any]) -> Iterator[str]:
    name = format_job_name(f"it{uuid.uuid4().hex[:10]}", datetime.now(UTC))
    yield name
    S3ObjectStore(tf_outputs["artifact_bucket_name"], tf_outputs["kms_key_arn"]).purge(f"{name}/")


class TestRecordsOnTheEmulator(RecordsContract):
    @pytest.fixture
    def many(self) -> int:
        return 1_500

    @pytest.fixture
    def log(self, tf_outputs: dict[str, Any]) -> InferenceLog:
        return make_log(tf_outputs)


def test_ambiguous_put_retried_by_botocore_yields_one_record(
    tf_outputs: dict[str, Any], job_name: str
) -> None:
    # Given a proxy that forwards the first write of each kind and then drops the connection unanswered
    dropped: set[bytes] = set()

    def drop_first_write(request: Any) -> str:
        # Each write (the start's put, then the finish's conditional put) is dropped once, after
        # the emulator applied it; botocore's retry resends the identical request.
        if request.target.endswith(".PutItem") and request.body not in dropped:
            dropped.add(request.body)
            return "drop"
        return "forward"

    with FaultProxy(ENDPOINT, drop_first_write) as proxy:
        log = make_log(
            tf_outputs,
            dynamodb_endpoint=proxy.endpoint,
            retries={"mode": "standard", "total_max_attempts": 4},
            read_timeout=5,
        )
        # When a record is started and finished through it
        handle = start(log, job_name, prompt="through a flaky network")
        finished = log.finish(handle, response="answer")
    # Then botocore retried each write once, and the retries were recognised as already applied
    assert proxy.counts["drop"] == 2
    assert handle.outcome is WriteOutcome.ALREADY_APPLIED
    assert finished is WriteOutcome.ALREADY_APPLIED
    records = list(make_log(tf_outputs).job(job_name))
    assert [(r.status, r.prompt, r.response) for r in records] == [
        (Status.SUCCESS, "through a flaky network", "answer")
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_table_outage_dead_letters_then_reconcile_restores_exactly_once(
    tf_outputs: dict[str, Any], job_name: str
) -> None:
    # Given a table endpoint that refuses connections (S3 is still up)
    down = make_log(
        tf_outputs,
        dynamodb_endpoint=f"http://127.0.0.1:{_closed_port()}",
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=0.5,
    )
    handle = start(down, job_name, prompt="written during the outage")
    assert handle.outcome is WriteOutcome.DEAD_LETTERED
    assert down.finish(handle, response="finished during the outage") is WriteOutcome.DEAD_LETTERED
    healthy = make_log(tf_outputs)
    assert list(healthy.job(job_name)) == []
    s3 = boto3.client("s3")
    letters = s3.list_objects_v2(
        Bucket=tf_outputs["artifact_bucket_name"], Prefix=f"_dead-letters/{job_name}/"
    )
    assert letters["KeyCount"] == 2
    # When the table is back and reconcile runs (twice)
    first = healthy.reconcile()
    second = healthy.reconcile()
    # Then the record is there exactly once, complete, and the dead letters are gone
    assert first.replayed >= 1 and not first.failed and second.replayed == 0
    records = list(healthy.job(job_name))
    assert [(r.status, r.prompt, r.response) for r in records] == [
        (Status.SUCCESS, "written during the outage", "finished during the outage")
    ]
    after = s3.list_objects_v2(Bucket=tf_outputs["artifact_bucket_name"], Prefix=f"_dead-letters/{job_name}/")
    assert after["KeyCount"] == 0


@pytest.mark.slow
def test_a_20_mb_response_round_trips_with_an_equal_sha256(tf_outputs: dict[str, Any], job_name: str) -> None:
    log = make_log(tf_outputs)
    response = ("0123456789abcdef" * 65_536) * 20  # 20 MiB
    handle = start(log, job_name)
    log.finish(handle, response=response)
    record = log.get(job_name, handle.record_id)
    assert record.response is not None
    assert (
        hashlib.sha256(record.response.encode()).hexdigest() == hashlib.sha256(response.encode()).hexdigest()
    )
    assert len(record.response) == 20 * 1024 * 1024
    head = boto3.client("s3").head_object(
        Bucket=tf_outputs["artifact_bucket_name"], Key=f"{job_name}/_payloads/{handle.record_id}/response.txt"
    )
    assert head["SSEKMSKeyId"] == tf_outputs["kms_key_arn"]
