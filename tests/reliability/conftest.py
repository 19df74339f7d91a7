"""Reliability tier: each promise of the persistence layer turned into a figure, under faults and attack.

Sizes. ``AUTONINJA_RELIABILITY_SCALE=full`` runs the sizes the figures in the README come from
(``make test-reliability``); ``reduced`` (the default, what ``make test`` runs) runs the same tests on
smaller loads so the tier fits in CI. :func:`sized` picks one of the two.

Where. The tests that need the stack (R1, R2, R3, R5, R8) read its resources from ``terraform output``
exactly as the integration tier does (``AUTONINJA_TF_DIR``, ``TF_DATA_DIR``, ``AWS_ENDPOINT_URL``), and
refuse to run unless the endpoint is on 127.0.0.1: nothing here ever talks to anything else. R4 runs
in-process on the in-memory fakes and moto in-process, with the network closed. R7 starts its own
emulator on a free port and stops it.

Figures. Every test calls :func:`report_figure` with its one-line figure; the lines are printed, and
repeated in a "reliability figures" section at the end of the pytest run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from autoninja.artifacts import S3ObjectStore
from autoninja.jobs import format_job_name
from autoninja.records import DynamoInferenceTable, InferenceLog
from autoninja.settings import DEFAULT_PAYLOAD_THRESHOLD_BYTES, Settings
from autoninja_cli.stack import StackError, terraform_outputs

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCALES = ("full", "reduced")
HOW_TO_START = (
    "start a stack with `make up PORT=<port>` and run the tier with its environment (`make test-reliability`)"
)
_FIGURES: list[str] = []


def scale() -> str:
    """``full`` or ``reduced`` (default), from ``AUTONINJA_RELIABILITY_SCALE``."""
    value = os.environ.get("AUTONINJA_RELIABILITY_SCALE", "reduced").strip().lower() or "reduced"
    if value not in SCALES:
        raise pytest.UsageError(f"AUTONINJA_RELIABILITY_SCALE must be one of {SCALES}, not {value!r}")
    return value


def sized(full: int, reduced: int) -> int:
    """``full`` at full scale, else ``reduced``."""
    return full if scale() == "full" else reduced


def report_figure(line: str) -> None:
    """Print a test's figure line and keep it for the end-of-run summary."""
    text = f"[{scale()}] {line}"
    _FIGURES.append(text)
    print(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def is_loopback(url: str | None) -> bool:
    """True for an ``http://127.0.0.1:<port>`` URL (the only place these tests send traffic)."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname == "127.0.0.1"


# -- the stack ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    """The applied local stack's Terraform outputs; it must be on 127.0.0.1 and reachable."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not is_loopback(endpoint):
        pytest.fail(
            f"AWS_ENDPOINT_URL is {endpoint!r}: the reliability tier only runs against an emulator on "
            f"127.0.0.1; {HOW_TO_START}",
            pytrace=False,
        )
    try:
        outputs = terraform_outputs()
    except StackError as exc:
        pytest.fail(f"{exc}; {HOW_TO_START}", pytrace=False)
    applied_to = str(outputs.get("endpoint") or "")
    if applied_to.rstrip("/") != str(endpoint).rstrip("/"):
        pytest.fail(
            f"the stack was applied to {applied_to!r} but AWS_ENDPOINT_URL is {endpoint!r}; {HOW_TO_START}",
            pytrace=False,
        )
    probe = boto3.client(
        "dynamodb",
        region_name=outputs["region"],
        config=Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}),
    )
    try:
        probe.describe_table(TableName=outputs["inference_table_name"])
    except Exception as exc:
        pytest.fail(f"the stack does not answer at {endpoint}: {exc!r}; {HOW_TO_START}", pytrace=False)
    return outputs


def settings_for(stack: dict[str, Any]) -> Settings:
    """The layer's settings for the stack, with every default a deployed function has (retry budget
    included: standard mode, 5 attempts, 2 s connect and 10 s read timeouts)."""
    return Settings.from_env(
        inference_table=stack["inference_table_name"],
        artifact_bucket=stack["artifact_bucket_name"],
        kms_key_id=stack["kms_key_arn"],
    )


def client(
    service: str, stack: dict[str, Any], endpoint: str | None = None, config: Config | None = None
) -> Any:
    """A boto3 client for the stack's region, at ``endpoint`` (a loopback URL) or the SDK's default."""
    if endpoint is not None and not is_loopback(endpoint):
        raise ValueError(f"refusing a non-loopback endpoint {endpoint!r}")
    if service == "s3":
        only_when_asked = Config(response_checksum_validation="when_required")
        config = config.merge(only_when_asked) if config else only_when_asked
    return boto3.client(service, region_name=stack["region"], endpoint_url=endpoint, config=config)


def make_log(
    stack: dict[str, Any],
    *,
    dynamodb_endpoint: str | None = None,
    s3_endpoint: str | None = None,
    config: Config | None = None,
) -> InferenceLog:
    """An :class:`InferenceLog` on the stack's table and bucket, optionally through other endpoints
    (a fault proxy), with the deployed functions' retry budget unless ``config`` says otherwise."""
    config = config or settings_for(stack).botocore_config()
    return InferenceLog(
        DynamoInferenceTable(
            stack["inference_table_name"], client=client("dynamodb", stack, dynamodb_endpoint, config)
        ),
        S3ObjectStore(
            stack["artifact_bucket_name"],
            stack["kms_key_arn"],
            client=client("s3", stack, s3_endpoint, config),
        ),
        payload_threshold_bytes=DEFAULT_PAYLOAD_THRESHOLD_BYTES,
    )


@pytest.fixture(scope="session")
def s3(stack: dict[str, Any]) -> S3Client:
    return client("s3", stack)  # type: ignore[no-any-return]


def unique_job(tag: str) -> str:
    """A job name no other test uses: ``job-{tag}{8 hex}-{now}`` (``tag``: up to 12 of [a-z0-9])."""
    return format_job_name(f"{tag}{uuid.uuid4().hex[:8]}", datetime.now(UTC))


@pytest.fixture
def new_job(stack: dict[str, Any]) -> Iterator[Callable[[str], str]]:
    """Make unique job names; their objects (artifacts, payloads, dead letters) are purged afterwards.

    Their table items stay, as in the integration tier: names are unique, and the stack is disposable.
    """
    made: list[str] = []

    def make(tag: str) -> str:
        made.append(unique_job(tag))
        return made[-1]

    yield make
    objects = S3ObjectStore(stack["artifact_bucket_name"], stack["kms_key_arn"], client=client("s3", stack))
    for job in made:
        objects.purge(f"{job}/")
        objects.purge(f"_dead-letters/{job}/")
