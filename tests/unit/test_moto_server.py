"""The emulator's server process: model copies made to answer one request no longer outlive it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.common_models import BaseModel
from moto.dynamodb.models.dynamo_type import Item
from moto.s3.models import FakeAcl, FakeDeleteMarker, FakeKey

from autoninja_cli import moto_server

BUCKET = "autoninja-listing-leak"


@pytest.fixture
def versioned_bucket() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for n in range(20):
            s3.put_object(Bucket=BUCKET, Key=f"job/{n}", Body=b"x" * 10_000)
        s3.put_object(Bucket=BUCKET, Key="job/0", Body=b"second version")
        s3.delete_object(Bucket=BUCKET, Key="job/1")  # a delete marker
        yield s3


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BaseModel, "__new__", BaseModel.__dict__["__new__"])  # put back afterwards
    moto_server.install()


def tracked() -> int:
    gc.collect()
    models: list[Any] = [FakeKey, FakeDeleteMarker, FakeAcl, Item]
    return sum(len(model.instances_tracked) for model in models)


def test_stock_moto_keeps_a_copy_of_every_version_per_listing(versioned_bucket: Any) -> None:
    # Given stock moto (the defect this module exists for; if moto fixes it, this test says so)
    before = tracked()
    # When the versions of one key are listed
    versioned_bucket.list_object_versions(Bucket=BUCKET, Prefix="job/5")
    # Then a copy of every version and marker in the bucket (and of their ACLs) stays behind
    assert tracked() - before >= 22  # 21 versions and a delete marker, before their ACLs


def test_listing_versions_leaves_nothing_behind_and_answers_the_same(
    installed: None, versioned_bucket: Any
) -> None:
    # Given the server's fix
    before = tracked()
    # When versions are listed many times
    for _ in range(5):
        answer = versioned_bucket.list_object_versions(Bucket=BUCKET, Prefix="job/")
    # Then nothing is kept, and the listing is complete and correct
    assert tracked() == before
    versions = {(v["Key"], v["IsLatest"], v["Size"]) for v in answer["Versions"]}
    assert len(answer["Versions"]) == 21
    assert ("job/0", True, len(b"second version")) in versions
    assert ("job/0", False, 10_000) in versions
    assert [(m["Key"], m["IsLatest"]) for m in answer["DeleteMarkers"]] == [("job/1", True)]
    assert versioned_bucket.get_object(Bucket=BUCKET, Key="job/0")["Body"].read() == b"second version"


def test_replacing_an_item_leaves_no_copy_behind(installed: None) -> None:
    with mock_aws():
        # Given the server's fix and a table with an item
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="records",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="records", Item={"pk": {"S": "a"}, "v": {"N": "0"}})
        before = tracked()
        # When it is replaced conditionally many times (moto copies the old item each time)
        for n in range(1, 20):
            dynamodb.put_item(
                TableName="records",
                Item={"pk": {"S": "a"}, "v": {"N": str(n)}},
                ConditionExpression="attribute_exists(pk)",
            )
        # Then only the live item is tracked, and it is the last one written
        assert tracked() == before
        item = dynamodb.get_item(TableName="records", Key={"pk": {"S": "a"}})["Item"]
        assert item["v"] == {"N": "19"}


def test_live_models_are_still_tracked_for_reset(installed: None, versioned_bucket: Any) -> None:
    # Given keys stored after the fix
    versioned_bucket.put_object(Bucket=BUCKET, Key="job/new", Body=b"kept")
    # Then moto's tracker still lists them (its reset disposes of them through it)
    assert any(key.name == "job/new" for key in FakeKey.instances_tracked)  # type: ignore[attr-defined]
