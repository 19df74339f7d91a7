"""Artifacts: one contract suite run against the in-memory fake and S3ObjectStore on moto (in-process).

Plus the key validation (every injection case, nothing written) and the S3 adapter's error translation.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from autoninja.artifacts import (
    DEAD_LETTER_PREFIX,
    PAYLOAD_SEGMENT,
    ArtifactStore,
    InMemoryObjectStore,
    ObjectStore,
    S3ObjectStore,
    artifact_key,
    parse_artifact_key,
)
from autoninja.errors import (
    ArtifactNotFoundError,
    ConfigurationError,
    ConversionError,
    ForeignBucketError,
    InvalidJobNameError,
    InvalidKeyError,
    StorageUnavailableError,
)
from autoninja.jobs import format_job_name
from autoninja.models import Phase
from autoninja.settings import Settings

BUCKET = "autoninja-unit-artifacts"
AGENT = "code-generator"
_SECONDS = count()


def new_job(keyword: str = "unit") -> str:
    """A job name no other test uses: a distinct second for each call."""
    moment = datetime(2026, 12, 3, tzinfo=UTC) + timedelta(seconds=next(_SECONDS))
    return format_job_name(keyword, moment)


@dataclass
class Backend:
    """An ObjectStore under test, and raw views of its bucket that do not go through the port."""

    name: str
    objects: ObjectStore
    kms_key_id: str
    add_delete_marker: Callable[[str], None]
    version_count: Callable[[str], int]  # versions + delete markers under a prefix
    content_type: Callable[[str], str]

    @property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(self.objects)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto in-process: fake credentials, and no endpoint override that could send traffic anywhere."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _memory_backend() -> Backend:
    store = InMemoryObjectStore(bucket=BUCKET, kms_key_id="alias/autoninja-unit")
    return Backend(
        name="memory",
        objects=store,
        kms_key_id="alias/autoninja-unit",
        add_delete_marker=store.add_delete_marker,
        version_count=store.version_count,
        content_type=store.content_type,
    )


def _s3_backend() -> Backend:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key_arn = boto3.client("kms").create_key(Description="autoninja unit")["KeyMetadata"]["Arn"]

    def add_delete_marker(key: str) -> None:
        s3.delete_object(Bucket=BUCKET, Key=key)

    def version_count(prefix: str) -> int:
        total = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
            total += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        return total

    def content_type(key: str) -> str:
        return s3.head_object(Bucket=BUCKET, Key=key)["ContentType"]

    return Backend(
        name="s3",
        objects=S3ObjectStore(BUCKET, key_arn, client=s3),
        kms_key_id=key_arn,
        add_delete_marker=add_delete_marker,
        version_count=version_count,
        content_type=content_type,
    )


@pytest.fixture(params=["memory", "s3"])
def backend(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Backend]:
    if request.param == "memory":
        yield _memory_backend()
    else:
        with mock_aws():
            yield _s3_backend()


# --- the contract: round trips ------------------------------------------------------------------------


def test_bytes_round_trip(backend: Backend) -> None:
    job = new_job()
    body = bytes(range(256)) * 4

    stored = backend.artifacts.put(job, Phase.CODE, AGENT, "bundle.bin", body)

    assert stored.key == f"{job}/code/{AGENT}/bundle.bin"
    assert stored.uri == f"s3://{BUCKET}/{job}/code/{AGENT}/bundle.bin"
    assert stored.size == len(body)
    assert backend.artifacts.get(job, Phase.CODE, AGENT, "bundle.bin") == body
    assert backend.content_type(stored.key) == "application/octet-stream"


def test_text_round_trip_is_utf8_with_a_type_by_extension(backend: Backend) -> None:
    job = new_job()
    code = "print('héllo, 世界')\n"

    stored = backend.artifacts.put(job, "code", AGENT, "app.py", code)
    notes = backend.artifacts.put(job, "code", AGENT, "NOTES", "plain words")

    assert backend.artifacts.get(job, "code", AGENT, "app.py") == code.encode("utf-8")
    assert backend.artifacts.get_text(job, "code", AGENT, "app.py") == code
    assert backend.content_type(stored.key) == "text/x-python; charset=utf-8"
    assert backend.content_type(notes.key) == "text/plain; charset=utf-8"


def test_mapping_and_list_round_trip_as_json(backend: Backend) -> None:
    job = new_job()
    requirements = {"goal": "a friend", "cost": Decimal("0.25"), "at": datetime(2026, 12, 3, tzinfo=UTC)}

    stored = backend.artifacts.put(
        job, "requirements", "requirements-analyst", "requirements.json", requirements
    )
    backend.artifacts.put(job, "requirements", "requirements-analyst", "list.json", [1, "ü"])

    body = backend.artifacts.get(job, "requirements", "requirements-analyst", "requirements.json")
    assert body.decode("utf-8").startswith('{\n  "goal"')  # indent=2
    assert backend.artifacts.get_json(job, "requirements", "requirements-analyst", "requirements.json") == {
        "goal": "a friend",
        "cost": "0.25",
        "at": "2026-12-03 00:00:00+00:00",
    }
    assert "ü".encode() in backend.artifacts.get(job, "requirements", "requirements-analyst", "list.json")
    assert backend.content_type(stored.key) == "application/json"


def test_an_explicit_content_type_wins(backend: Backend) -> None:
    job = new_job()

    stored = backend.artifacts.put(
        job, "deployment", "deployment-manager", "t.yaml", "a: 1", content_type="text/yaml"
    )

    assert backend.content_type(stored.key) == "text/yaml"


def test_sha256_and_head_match_hashlib(backend: Backend) -> None:
    job = new_job()
    body = b"architecture " * 1000

    stored = backend.artifacts.put(job, "architecture", "solution-architect", "design.md", body)
    head = backend.objects.head(stored.key)

    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert head.sha256 == stored.sha256
    assert head.size == len(body)
    assert head.uri == stored.uri


def test_put_and_head_report_the_kms_key(backend: Backend) -> None:
    job = new_job()

    stored = backend.artifacts.put(job, "validation", "quality-validator", "report.json", {"ok": True})

    assert stored.kms_key_id == backend.kms_key_id
    assert backend.objects.head(stored.key).kms_key_id == backend.kms_key_id


def test_a_second_put_is_a_new_version_and_get_returns_the_latest(backend: Backend) -> None:
    job = new_job()
    first = backend.artifacts.put(job, "code", AGENT, "app.py", "v1")

    second = backend.artifacts.put(job, "code", AGENT, "app.py", "v2")

    assert first.version_id != second.version_id
    assert backend.artifacts.get_text(job, "code", AGENT, "app.py") == "v2"
    assert backend.version_count(second.key) == 2


def test_missing_artifacts_are_not_found(backend: Backend) -> None:
    job = new_job()

    with pytest.raises(ArtifactNotFoundError):
        backend.artifacts.get(job, "code", AGENT, "absent.py")
    with pytest.raises(ArtifactNotFoundError):
        backend.objects.head(f"{job}/code/{AGENT}/absent.py")
    assert not backend.artifacts.exists(job, "code", AGENT, "absent.py")
    backend.artifacts.put(job, "code", AGENT, "present.py", "x")
    assert backend.artifacts.exists(job, "code", AGENT, "present.py")


def test_a_deleted_object_is_not_found_behind_its_delete_marker(backend: Backend) -> None:
    job = new_job()
    stored = backend.artifacts.put(job, "code", AGENT, "app.py", "v1")

    backend.add_delete_marker(stored.key)

    assert not backend.artifacts.exists(job, "code", AGENT, "app.py")
    assert list(backend.artifacts.list(job)) == []


def test_get_json_and_get_text_reject_what_they_cannot_read(backend: Backend) -> None:
    job = new_job()
    backend.artifacts.put(job, "code", AGENT, "bad.json", "{not json")
    backend.artifacts.put(job, "code", AGENT, "bad.txt", b"\xff\xfe")

    with pytest.raises(ConversionError, match="not valid JSON"):
        backend.artifacts.get_json(job, "code", AGENT, "bad.json")
    with pytest.raises(ConversionError, match="UTF-8"):
        backend.artifacts.get_text(job, "code", AGENT, "bad.txt")


# --- the contract: listing, delete, purge -------------------------------------------------------------


def test_listing_more_than_one_page_comes_back_complete(backend: Backend) -> None:
    job = new_job("many")
    expected = set()
    for index in range(1_100):
        expected.add(backend.objects.put(f"{job}/code/{AGENT}/f{index:04d}.txt", b"x").key)

    listed = [info.key for info in backend.artifacts.list(job)]

    assert len(listed) == 1_100
    assert set(listed) == expected
    assert listed == sorted(listed)
    assert {info.key for info in backend.objects.list(f"{job}/")} == expected
    assert backend.artifacts.purge(job) == 1_100
    assert backend.version_count(f"{job}/") == 0


def test_list_filters_by_phase_and_agent_and_skips_payloads(backend: Backend) -> None:
    job = new_job()
    code = backend.artifacts.put(job, "code", AGENT, "app.py", "x")
    schema = backend.artifacts.put(job, "code", "other-agent", "schema.yaml", "y")
    reqs = backend.artifacts.put(job, "requirements", "requirements-analyst", "r.json", {})
    backend.objects.put(f"{job}/{PAYLOAD_SEGMENT}/rec-1/prompt.txt", b"large")
    backend.objects.put(f"{DEAD_LETTER_PREFIX}{job}/rec-1/001-success.json", b"{}")
    other = backend.artifacts.put(new_job(), "code", AGENT, "app.py", "z")

    def keys(**filters: Any) -> set[str]:
        return {info.key for info in backend.artifacts.list(job, **filters)}

    assert keys() == {code.key, schema.key, reqs.key}
    assert keys(phase="code") == {code.key, schema.key}
    assert keys(phase=Phase.CODE, agent_name=AGENT) == {code.key}
    assert keys(agent_name="requirements-analyst") == {reqs.key}
    assert other.key not in keys()
    sizes = {info.key: info.size for info in backend.artifacts.list(job)}
    assert sizes[code.key] == 1


def test_purge_removes_every_version_and_delete_marker(backend: Backend) -> None:
    # Given a job with two versions of one file, a deleted file (version + marker) and a payload,
    job = new_job("purge")
    neighbour = new_job("purge")
    backend.artifacts.put(job, "code", AGENT, "app.py", "v1")
    backend.artifacts.put(job, "code", AGENT, "app.py", "v2")
    gone = backend.artifacts.put(job, "code", AGENT, "gone.py", "x")
    backend.add_delete_marker(gone.key)
    backend.objects.put(f"{job}/{PAYLOAD_SEGMENT}/rec-1/response.txt", b"big")
    kept = backend.artifacts.put(neighbour, "code", AGENT, "app.py", "keep me")
    assert backend.version_count(f"{job}/") == 5

    # When the job is purged,
    removed = backend.artifacts.purge(job)

    # Then every version and marker is gone, and the other job is untouched.
    assert removed == 5
    assert backend.version_count(f"{job}/") == 0
    assert list(backend.objects.list(f"{job}/")) == []
    assert backend.artifacts.get_text(neighbour, "code", AGENT, "app.py") == "keep me"
    assert backend.version_count(kept.key) == 1
    assert backend.artifacts.purge(job) == 0


def test_delete_removes_exactly_one_key_with_every_version(backend: Backend) -> None:
    job = new_job()
    target = backend.artifacts.put(job, "code", AGENT, "app.py", "v1")
    backend.artifacts.put(job, "code", AGENT, "app.py", "v2")
    backend.add_delete_marker(target.key)
    sibling = backend.artifacts.put(job, "code", AGENT, "app.py.bak", "keep")

    assert backend.objects.delete(target.key) == 3

    assert backend.version_count(target.key) == 1  # only the sibling shares the prefix
    assert backend.objects.get(sibling.key) == b"keep"
    assert backend.objects.delete(target.key) == 0


def test_purge_refuses_an_empty_prefix(backend: Backend) -> None:
    stored = backend.artifacts.put(new_job(), "code", AGENT, "app.py", "x")

    with pytest.raises(InvalidKeyError, match="non-empty prefix"):
        backend.objects.purge("")

    assert backend.objects.get(stored.key) == b"x"


# --- the contract: URIs -------------------------------------------------------------------------------


def test_get_uri_reads_the_projects_bucket(backend: Backend) -> None:
    stored = backend.artifacts.put(new_job(), "code", AGENT, "app.py", "x")

    assert backend.artifacts.get_uri(stored.uri) == b"x"
    assert backend.objects.key_from_uri(stored.uri) == stored.key
    assert backend.objects.uri(stored.key) == stored.uri


@pytest.mark.parametrize(
    "uri",
    [
        "s3://someone-elses-bucket/job-a-20261203-000000/code/code-generator/app.py",
        f"s3://{BUCKET}-evil/job-a-20261203-000000/code/code-generator/app.py",
        f"s3://{BUCKET}.evil/job-a-20261203-000000/code/code-generator/app.py",
        f"https://{BUCKET}.s3.amazonaws.com/job-a-20261203-000000/code/code-generator/app.py",
        f"S3://{BUCKET}/job-a-20261203-000000/code/code-generator/app.py",
        "/etc/passwd",
        "",
    ],
)
def test_get_uri_rejects_foreign_buckets(backend: Backend, uri: str) -> None:
    with pytest.raises(ForeignBucketError):
        backend.artifacts.get_uri(uri)


@pytest.mark.parametrize(
    "key",
    [
        "",
        f"{DEAD_LETTER_PREFIX}job-a-20261203-000000/rec/001.json",
        f"job-a-20261203-000000/{PAYLOAD_SEGMENT}/rec/prompt.txt",
        "job-a-20261203-000000/code/code-generator/../../../x",
        "job-a-20261203-000000/code/code-generator/sub/app.py",
        "job-a-20261203-000000/secrets/code-generator/app.py",
    ],
)
def test_get_uri_reads_artifact_keys_only(backend: Backend, key: str) -> None:
    with pytest.raises((InvalidKeyError, InvalidJobNameError)):
        backend.artifacts.get_uri(f"s3://{BUCKET}/{key}")


# --- key validation: every injection is rejected and nothing is written -------------------------------

PART_LABELS = {"job_name": "job name", "phase": "phase", "agent_name": "agent name", "filename": "filename"}
GOOD = {"job_name": "job-a-20261203-000000", "phase": "code", "agent_name": AGENT, "filename": "app.py"}

INJECTIONS: list[tuple[str, str, type[Exception], str]] = [
    # (part, value, error, message fragment)
    ("job_name", "", InvalidJobNameError, "job name"),
    ("job_name", "..", InvalidJobNameError, "job name"),
    ("job_name", "../job-a-20261203-000000", InvalidJobNameError, "job name"),
    ("job_name", "job-a-20261203-000000/..", InvalidJobNameError, "job name"),
    ("job_name", "/etc/passwd", InvalidJobNameError, "job name"),
    ("job_name", "job-A-20261203-000000", InvalidJobNameError, "job name"),
    ("job_name", "job-a-20261340-000000", InvalidJobNameError, "not a real"),
    ("phase", "", InvalidKeyError, "phase"),
    ("phase", "..", InvalidKeyError, "phase"),
    ("phase", "code/..", InvalidKeyError, "phase"),
    ("phase", "_payloads", InvalidKeyError, "phase"),
    ("phase", "secrets", InvalidKeyError, "not a known phase"),
    ("phase", "Code", InvalidKeyError, "phase"),
    ("agent_name", "", InvalidKeyError, "agent name"),
    ("agent_name", "..", InvalidKeyError, "contains '..'"),
    ("agent_name", "a/b", InvalidKeyError, "contains '/'"),
    ("agent_name", "a\\b", InvalidKeyError, "contains '\\\\'"),
    ("agent_name", "/etc/passwd", InvalidKeyError, "contains '/'"),
    ("agent_name", "a\x00b", InvalidKeyError, "control character"),
    ("agent_name", "a\nb", InvalidKeyError, "control character"),
    ("agent_name", "a\x1bb", InvalidKeyError, "control character"),
    ("agent_name", "code generator", InvalidKeyError, "whitespace"),
    ("agent_name", "Code-Generator", InvalidKeyError, "lower-case"),
    ("agent_name", "-lead", InvalidKeyError, "starting with"),
    ("agent_name", "\uff43ode-generator", InvalidKeyError, "non-ASCII"),  # fullwidth c
    ("agent_name", "\u0441ode-generator", InvalidKeyError, "non-ASCII"),  # Cyrillic es
    ("agent_name", "a" * 65, InvalidKeyError, "limit is 64"),
    ("filename", "", InvalidKeyError, "filename"),
    ("filename", "..", InvalidKeyError, "contains '..'"),
    ("filename", "a..b", InvalidKeyError, "contains '..'"),
    ("filename", "../../etc/passwd", InvalidKeyError, "contains '/'"),
    ("filename", "a/b", InvalidKeyError, "contains '/'"),
    ("filename", "a\\b", InvalidKeyError, "contains '\\\\'"),
    ("filename", "..\\..\\win.ini", InvalidKeyError, "filename"),
    ("filename", "/etc/passwd", InvalidKeyError, "contains '/'"),
    ("filename", "app\x00.py", InvalidKeyError, "control character"),
    ("filename", "app\n.py", InvalidKeyError, "control character"),
    ("filename", "\x1b[31mred.txt", InvalidKeyError, "control character"),
    ("filename", "app\x7f.py", InvalidKeyError, "control character"),
    ("filename", "my app.py", InvalidKeyError, "whitespace"),
    ("filename", "app.py ", InvalidKeyError, "whitespace"),
    ("filename", ".hidden", InvalidKeyError, "starting with"),
    ("filename", "a" * 300, InvalidKeyError, "limit is 255"),
    ("filename", "\uff41pp.py", InvalidKeyError, "non-ASCII"),  # fullwidth a
    ("filename", "\u0430pp.py", InvalidKeyError, "non-ASCII"),  # Cyrillic a
    ("filename", "app\u2024py", InvalidKeyError, "non-ASCII"),  # one-dot leader
    ("filename", "app\u202e.py", InvalidKeyError, "non-ASCII"),  # right-to-left override
    ("filename", "app.py\u200b", InvalidKeyError, "non-ASCII"),  # zero-width space
    ("filename", "\u00e9" * 128, InvalidKeyError, "filename"),  # 256 bytes, non-ASCII
    ("filename", "app:stream.py", InvalidKeyError, "letters, digits"),
    ("filename", "%2e%2e", InvalidKeyError, "letters, digits"),
]


@pytest.mark.parametrize(
    ("part", "value", "error", "message"),
    INJECTIONS,
    ids=[f"{part}-{value!r}"[:60] for part, value, _, _ in INJECTIONS],
)
def test_injection_is_rejected_and_nothing_is_written(
    backend: Backend, part: str, value: str, error: type[Exception], message: str
) -> None:
    parts = {**GOOD, part: value}

    with pytest.raises(error, match=message) as caught:
        backend.artifacts.put(
            parts["job_name"], parts["phase"], parts["agent_name"], parts["filename"], b"pwned"
        )

    assert PART_LABELS[part] in str(caught.value)  # the message names the part
    assert backend.version_count("") == 0
    with pytest.raises(error):
        artifact_key(parts["job_name"], parts["phase"], parts["agent_name"], parts["filename"])


def test_the_longest_safe_parts_are_accepted() -> None:
    filename = "a" * 251 + ".txt"
    agent = "a" * 64

    key = artifact_key("job-a-20261203-000000", Phase.ORCHESTRATION, agent, filename)

    assert key == f"job-a-20261203-000000/orchestration/{agent}/{filename}"
    assert parse_artifact_key(key).filename == filename


# --- the S3 adapter -----------------------------------------------------------------------------------


@pytest.fixture
def moto_s3(aws_env: None) -> Iterator[Backend]:
    with mock_aws():
        yield _s3_backend()


def test_s3_put_sends_sse_kms_and_a_sha256_checksum(moto_s3: Backend) -> None:
    stored = moto_s3.artifacts.put(new_job(), "code", AGENT, "app.py", "print(1)")

    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=stored.key, ChecksumMode="ENABLED")

    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == moto_s3.kms_key_id
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"print(1)").digest()).decode()


def test_s3_purge_deletes_in_batches_of_at_most_1000(moto_s3: Backend) -> None:
    job = new_job("batches")
    s3 = boto3.client("s3")
    for index in range(1_001):
        s3.put_object(Bucket=BUCKET, Key=f"{job}/code/{AGENT}/f{index}.txt", Body=b"x")
    assert isinstance(moto_s3.objects, S3ObjectStore)
    sizes: list[int] = []
    moto_s3.objects.client.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **_: sizes.append(len(params["Delete"]["Objects"])),
    )

    assert moto_s3.artifacts.purge(job) == 1_001

    assert sizes == [1_000, 1]
    assert moto_s3.version_count(f"{job}/") == 0


def test_s3_head_hashes_objects_stored_without_a_checksum(moto_s3: Backend) -> None:
    key = f"{new_job()}/code/{AGENT}/foreign.txt"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"no checksum")

    assert moto_s3.objects.head(key).sha256 == hashlib.sha256(b"no checksum").hexdigest()


def test_s3_store_builds_its_client_lazily_from_the_environment(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    real_client = boto3.client

    def counting_client(service: str, **kwargs: Any) -> Any:
        created.append(service)
        return real_client(service, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(boto3, "client", counting_client)
    settings = Settings(inference_table="autoninja-unit", artifact_bucket=BUCKET, kms_key_id="alias/x")

    store = ArtifactStore.from_settings(settings)
    assert created == []  # nothing built until first use

    with mock_aws():
        real_client("s3").create_bucket(Bucket=BUCKET)
        store.put(new_job(), "code", AGENT, "app.py", "x")
        store.put(new_job(), "code", AGENT, "app.py", "x")

    assert created == ["s3"]  # built once, then reused
    assert isinstance(store.objects, S3ObjectStore)
    assert store.objects.client.meta.region_name == "us-east-1"
    assert store.objects.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}


def test_s3_store_needs_a_bucket_and_a_key() -> None:
    with pytest.raises(ConfigurationError, match="bucket"):
        S3ObjectStore("", "alias/x")
    with pytest.raises(ConfigurationError, match="KMS"):
        S3ObjectStore(BUCKET, "")


@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[S3ObjectStore, Stubber]]:
    client = boto3.client("s3")
    with Stubber(client) as stubber:
        yield S3ObjectStore(BUCKET, "alias/x", client=client), stubber


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("NoSuchKey", 404, ArtifactNotFoundError),
        ("NoSuchBucket", 404, ConfigurationError),
        ("SlowDown", 503, StorageUnavailableError),
        ("InternalError", 500, StorageUnavailableError),
    ],
)
def test_s3_error_codes_are_translated(
    stubbed: tuple[S3ObjectStore, Stubber], code: str, status: int, error: type[Exception]
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)

    with pytest.raises(error) as caught:
        store.get("job-a-20261203-000000/code/code-generator/app.py")

    assert isinstance(caught.value.__cause__, ClientError)


def test_s3_unexpected_error_codes_are_re_raised(stubbed: tuple[S3ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)

    with pytest.raises(ClientError) as caught:
        store.put("job-a-20261203-000000/code/code-generator/app.py", b"x")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_s3_purge_reports_objects_it_could_not_delete(stubbed: tuple[S3ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    prefix = "job-a-20261203-000000/"
    stubber.add_response(
        "list_object_versions",
        {"Versions": [{"Key": f"{prefix}x", "VersionId": "v1"}], "IsTruncated": False},
    )
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": f"{prefix}x", "VersionId": "v1", "Code": "SlowDown", "Message": "slow"}]},
    )

    with pytest.raises(StorageUnavailableError, match="1 of 1 object versions"):
        store.purge(prefix)


def test_in_memory_store_refuses_an_empty_key() -> None:
    with pytest.raises(InvalidKeyError):
        InMemoryObjectStore().put("", b"x")


def test_json_artifacts_keep_non_ascii_text() -> None:
    artifacts = ArtifactStore(InMemoryObjectStore())
    job = new_job()

    artifacts.put(job, "requirements", "requirements-analyst", "r.json", {"name": "Zoë"})

    assert json.loads(artifacts.get(job, "requirements", "requirements-analyst", "r.json")) == {"name": "Zoë"}
    assert "Zoë".encode() in artifacts.get(job, "requirements", "requirements-analyst", "r.json")


def test_unsupported_content_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="artifact content"):
        ArtifactStore(InMemoryObjectStore()).put(new_job(), "code", AGENT, "x.bin", 42)  # type: ignore[arg-type]
