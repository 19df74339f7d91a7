"""Packaging tier: the handlers run from the built zips, with the configuration Terraform deployed.

Every invocation goes through :func:`autoninja_cli.invoke.invoke_packaged`: the function's zip and the
layer's zip unpacked the way Lambda lays them out, a fresh isolated interpreter, the environment read
from the emulator (``lambda get_function_configuration``). What the handlers wrote is then read over
HTTP with the layer's own reader (``InferenceLog``) and a raw S3 client, with the names from
``terraform output``. ``make test-packaging`` sets the stack's environment (STACK_ENV); nothing is
skipped: a stack that is not applied fails the session with a message saying how to bring it up.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from autoninja.artifacts import S3ObjectStore
from autoninja.jobs import format_job_name
from autoninja.models import InferenceRecord
from autoninja.records import DynamoInferenceTable, InferenceLog
from autoninja.settings import DEFAULT_PAYLOAD_THRESHOLD_BYTES
from autoninja_cli.invoke import InvokeError, invoke_packaged
from autoninja_cli.stack import StackError, terraform_outputs
from tests.support.functions import with_properties

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

HOW_TO_START = "start it with `make up` and run the tier with `make test-packaging`"

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    """The applied stack's Terraform outputs (it must have the functions and the layer)."""
    try:
        outputs = terraform_outputs()
    except StackError as exc:
        pytest.fail(f"{exc}; {HOW_TO_START}", pytrace=False)
    if not outputs.get("function_names") or not outputs.get("layer_arn"):
        pytest.fail(f"the stack has no functions or layer: {HOW_TO_START}", pytrace=False)
    applied_to = outputs.get("endpoint")
    if applied_to and os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") != applied_to.rstrip("/"):
        pytest.fail(
            f"the stack was applied to {applied_to} but AWS_ENDPOINT_URL is "
            f"{os.environ.get('AWS_ENDPOINT_URL')!r}; {HOW_TO_START}",
            pytrace=False,
        )
    return outputs


@pytest.fixture(scope="session")
def s3(stack: dict[str, Any]) -> S3Client:
    return boto3.client("s3", region_name=stack["region"])


@pytest.fixture(scope="session")
def dynamodb(stack: dict[str, Any]) -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=stack["region"])


@pytest.fixture(scope="session")
def inference_log(stack: dict[str, Any], dynamodb: DynamoDBClient, s3: S3Client) -> InferenceLog:
    """The layer's reader of the stack's records (payloads rehydrated), over HTTP."""
    return InferenceLog(
        DynamoInferenceTable(stack["inference_table_name"], client=dynamodb),
        S3ObjectStore(stack["artifact_bucket_name"], stack["kms_key_arn"], client=s3),
        payload_threshold_bytes=DEFAULT_PAYLOAD_THRESHOLD_BYTES,
    )


@pytest.fixture(scope="session")
def invoke(stack: dict[str, Any]) -> Invoke:
    """Run an agent's deployed handler from the zips on an event; the Bedrock response."""

    def run(agent: str, event: dict[str, Any]) -> dict[str, Any]:
        try:
            return invoke_packaged(agent, event, outputs=stack, logs=None)
        except InvokeError as exc:  # a one-line reason instead of a traceback into the CLI
            pytest.fail(f"invoking {agent} from its zips failed: {exc}", pytrace=False)

    return run


def unique_job(tag: str) -> str:
    """A valid job name no other test uses: ``job-pk<tag><hex>-<now>`` (``tag``: up to 10 of [a-z0-9])."""
    return format_job_name(f"pk{tag}{uuid.uuid4().hex[:8]}", datetime.now(UTC))


def unique_session() -> str:
    """A Bedrock session id no other test uses (records are found through SessionIdIndex)."""
    return f"packaging-{uuid.uuid4().hex}"


def for_test(event: dict[str, Any], *, job_name: str | None, session_id: str) -> dict[str, Any]:
    """``event`` with this test's session id and, unless ``job_name`` is None, this test's job name."""
    copy: dict[str, Any] = json.loads(json.dumps(event))
    copy["sessionId"] = session_id
    return with_properties(copy, job_name=job_name) if job_name is not None else copy


def session_records(log: InferenceLog, session_id: str) -> list[InferenceRecord]:
    """Every record of a session (the test's own), oldest first."""
    return list(log.session(session_id))
