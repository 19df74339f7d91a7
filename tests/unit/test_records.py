"""The records contract against the in-memory fake and against moto in-process (no network)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from autoninja.artifacts import InMemoryObjectStore, S3ObjectStore
from autoninja.jobs import format_job_name
from autoninja.records import (
    DynamoInferenceTable,
    InferenceLog,
    InMemoryInferenceTable,
    content_hash,
    deserialise,
    serialise,
)
from tests.contracts.records_contract import RecordsContract
from tests.support.stack import create_inference_table

THRESHOLD = 100_000


@pytest.fixture
def job_name() -> str:
    return format_job_name(f"t{uuid.uuid4().hex[:10]}", datetime.now(UTC))


class TestRecordsOnTheFake(RecordsContract):
    @pytest.fixture
    def many(self) -> int:
        return 1_500

    @pytest.fixture
    def log(self) -> InferenceLog:
        return InferenceLog(
            InMemoryInferenceTable(), InMemoryObjectStore(), payload_threshold_bytes=THRESHOLD
        )


class TestRecordsOnMoto(RecordsContract):
    @pytest.fixture
    def many(self) -> int:
        return 600

    @pytest.fixture
    def log(self) -> Iterator[InferenceLog]:
        with mock_aws():
            dynamodb = boto3.client("dynamodb")
            create_inference_table(dynamodb, "records")
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket="autoninja-unit")
            key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
            yield InferenceLog(
                DynamoInferenceTable("records", client=dynamodb),
                S3ObjectStore("autoninja-unit", key, client=s3),
                payload_threshold_bytes=THRESHOLD,
            )


def test_serialisation_round_trips_python_types() -> None:
    item = {"s": "x", "i": 3, "d": Decimal("0.000123"), "l": ["a", 1], "m": {"k": None}, "b": True}
    assert deserialise(serialise(item)) == item
    assert isinstance(deserialise(serialise(item))["i"], int)


def test_content_hash_ignores_bodies_but_not_their_digests() -> None:
    base = {"job_name": "j", "record_id": "r", "prompt_sha256": "aa", "prompt": "x"}
    assert content_hash(base) == content_hash(base | {"prompt": "different body"})
    assert content_hash(base) != content_hash(base | {"prompt_sha256": "bb"})
    assert content_hash(base) != content_hash(base | {"status": "success"})
