"""Artifacts against the applied stack over HTTP: the project's CMK, checksums, key safety and purge.

Resource names come from Terraform (``tf_outputs``); nothing of AWS is mocked. The store under test is
built the way a function builds it (``ArtifactStore.from_settings``, client made lazily from the
environment); the assertions read the bucket through a separate raw boto3 client.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from autoninja.artifacts import ArtifactStore
from autoninja.errors import ForeignBucketError, InvalidInputError
from autoninja.jobs import format_job_name
from autoninja.models import Phase
from autoninja.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

AGENT = "code-generator"


@pytest.fixture(scope="module")
def raw_s3() -> S3Client:
    """A plain client (endpoint and region from the environment) to look at the bucket directly."""
    return boto3.client("s3")


@pytest.fixture
def bucket(tf_outputs: dict[str, Any]) -> str:
    return str(tf_outputs["artifact_bucket_name"])


@pytest.fixture
def artifacts(tf_outputs: dict[str, Any]) -> ArtifactStore:
    settings = Settings(
        inference_table=tf_outputs["inference_table_name"],
        artifact_bucket=tf_outputs["artifact_bucket_name"],
        kms_key_id=tf_outputs["kms_key_arn"],
    )
    return ArtifactStore.from_settings(settings)


@pytest.fixture
def job_name(artifacts: ArtifactStore) -> Iterator[str]:
    """A job name no other test uses; everything stored under it is purged afterwards."""
    name = format_job_name(f"it-{uuid.uuid4().hex[:12]}", datetime.now(UTC))
    yield name
    artifacts.purge(name)


def _versions(raw_s3: S3Client, bucket: str, prefix: str = "") -> set[tuple[str, str]]:
    """Every (key, version id) of objects and delete markers under ``prefix``, across every page."""
    found: set[tuple[str, str]] = set()
    for page in raw_s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            found.add((entry["Key"], entry.get("VersionId", "null")))
    return found


def test_an_artifact_is_encrypted_with_the_project_cmk_and_has_a_sha256_checksum(
    artifacts: ArtifactStore, raw_s3: S3Client, tf_outputs: dict[str, Any], bucket: str, job_name: str
) -> None:
    # Given requirements an agent produced,
    requirements = {"goal": "a friend agent", "constraints": ["kind", "patient"]}

    # When they are stored as an artifact,
    stored = artifacts.put(
        job_name, Phase.REQUIREMENTS, "requirements-analyst", "requirements.json", requirements
    )

    # Then S3 holds them encrypted with the project's CMK, with the SHA256 checksum of the body.
    head = raw_s3.head_object(Bucket=bucket, Key=stored.key, ChecksumMode="ENABLED")
    body = raw_s3.get_object(Bucket=bucket, Key=stored.key)["Body"].read()
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == tf_outputs["kms_key_arn"]
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == hashlib.sha256(body).hexdigest()
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert stored.kms_key_id == tf_outputs["kms_key_arn"]
    assert stored.key == f"{job_name}/requirements/requirements-analyst/requirements.json"
    assert stored.uri == f"s3://{bucket}/{stored.key}"
    # and it reads back by name, by URI and in the job's listing.
    assert (
        artifacts.get_json(job_name, "requirements", "requirements-analyst", "requirements.json")
        == requirements
    )
    assert artifacts.get_uri(stored.uri) == body
    assert [info.key for info in artifacts.list(job_name)] == [stored.key]
    assert artifacts.objects.head(stored.key).sha256 == stored.sha256


def test_uris_of_another_bucket_are_refused(artifacts: ArtifactStore, bucket: str, job_name: str) -> None:
    stored = artifacts.put(job_name, Phase.CODE, AGENT, "app.py", "print('hi')")

    with pytest.raises(ForeignBucketError):
        artifacts.get_uri(stored.uri.replace(f"s3://{bucket}/", f"s3://{bucket}-other/"))


TRAVERSALS = [
    ("job_name", "../job-a-20261203-000000"),
    ("job_name", "job-a-20261203-000000/.."),
    ("phase", "../.."),
    ("phase", "code/../../x"),
    ("agent_name", "../../x"),
    ("agent_name", "a/../b"),
    ("agent_name", "a\\..\\b"),
    ("filename", "../../etc/passwd"),
    ("filename", ".."),
    ("filename", "/etc/passwd"),
    ("filename", "..\\..\\win.ini"),
    ("filename", "app\x00.py"),
    ("filename", "app\n.py"),
    ("filename", "\uff0e\uff0e\uff0fpasswd"),  # fullwidth "../"
    ("filename", "p\u0430sswd"),  # Cyrillic a
    ("filename", "a" * 300),
]


@pytest.mark.parametrize(("part", "value"), TRAVERSALS, ids=[f"{p}-{v!r}"[:50] for p, v in TRAVERSALS])
def test_traversal_like_parts_are_rejected_and_nothing_is_written(
    artifacts: ArtifactStore, raw_s3: S3Client, bucket: str, job_name: str, part: str, value: str
) -> None:
    parts = {"job_name": job_name, "phase": "code", "agent_name": AGENT, "filename": "app.py", part: value}
    before = _versions(raw_s3, bucket)

    with pytest.raises(InvalidInputError):
        artifacts.put(parts["job_name"], parts["phase"], parts["agent_name"], parts["filename"], b"pwned")

    assert _versions(raw_s3, bucket) - before == set()


def test_purge_removes_every_version_of_a_job_and_leaves_nothing(
    artifacts: ArtifactStore, raw_s3: S3Client, bucket: str, job_name: str
) -> None:
    # Given a job with two versions of one file and a deleted file (a version and a delete marker),
    artifacts.put(job_name, Phase.CODE, AGENT, "app.py", "v1")
    artifacts.put(job_name, Phase.CODE, AGENT, "app.py", "v2")
    gone = artifacts.put(job_name, Phase.CODE, AGENT, "gone.py", "x")
    raw_s3.delete_object(Bucket=bucket, Key=gone.key)
    assert len(_versions(raw_s3, bucket, f"{job_name}/")) == 4

    # When the job is purged,
    removed = artifacts.purge(job_name)

    # Then every version and marker was removed, and the bucket holds nothing of the job.
    assert removed == 4
    assert _versions(raw_s3, bucket, f"{job_name}/") == set()
    assert raw_s3.list_objects_v2(Bucket=bucket, Prefix=f"{job_name}/").get("KeyCount", 0) == 0
    assert not artifacts.exists(job_name, Phase.CODE, AGENT, "app.py")
