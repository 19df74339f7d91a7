"""The emulator's server process: listing object versions no longer keeps a copy of the bucket."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.s3.models import FakeDeleteMarker, FakeKey

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
def installed() -> Iterator[None]:
    moto_server.install()
    yield
    for model in (FakeKey, FakeDeleteMarker):
        delattr(model, "__deepcopy__")


def tracked() -> int:
    gc.collect()
    return len(FakeKey.instances_tracked) + len(FakeDeleteMarker.instances_tracked)  # type: ignore[attr-defined]


def test_stock_moto_keeps_a_copy_of_every_version_per_listing(versioned_bucket: Any) -> None:
    # Given stock moto (the defect this module exists for; if moto fixes it, this test says so)
    before = tracked()
    # When the versions of one key are listed
    versioned_bucket.list_object_versions(Bucket=BUCKET, Prefix="job/5")
    # Then a copy of every version and marker in the bucket stays behind
    assert tracked() - before >= 22


def test_listing_versions_leaves_nothing_behind_and_answers_the_same(
    versioned_bucket: Any, installed: None
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
