"""Integration tier: tests run against an applied stack (the embedded emulator or LocalStack) over HTTP.

Resource names come from ``terraform output -json`` of the environment in ``AUTONINJA_TF_DIR``
(``make test-integration`` sets it, with ``TF_DATA_DIR`` and ``AWS_ENDPOINT_URL``). Nothing here is
skipped: a stack that is not applied or not reachable fails the session with a message saying how
to bring it up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TF_DIR = "terraform/environments/local"
HOW_TO_START = "start it with `make up` and run the tier with `make test-integration`"


def terraform_outputs(tf_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return the output values of an applied Terraform environment, by output name.

    Runs ``terraform -chdir=<tf_dir> output -json``; ``tf_dir`` defaults to ``$AUTONINJA_TF_DIR``
    (else the local environment). A relative directory is taken from the current directory if it
    exists there, else from the repository root. ``TF_DATA_DIR`` is passed on from the environment
    (made absolute, since terraform would resolve a relative one against ``-chdir``), so the outputs
    come from the same state the Makefile applied.

    Example: ``terraform_outputs()["inference_table_name"]`` -> ``"autoninja-local-inference-records"``.
    """
    raw_dir = Path(tf_dir or os.environ.get("AUTONINJA_TF_DIR") or DEFAULT_TF_DIR)
    directory = raw_dir if raw_dir.is_absolute() or raw_dir.is_dir() else REPO_ROOT / raw_dir
    if not directory.is_dir():
        pytest.fail(f"Terraform environment {raw_dir} does not exist (AUTONINJA_TF_DIR)", pytrace=False)

    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH: it is needed to read the stack's outputs", pytrace=False)

    env = dict(os.environ)
    if env.get("TF_DATA_DIR"):
        env["TF_DATA_DIR"] = str(Path(env["TF_DATA_DIR"]).resolve())
    result = subprocess.run(
        [terraform, f"-chdir={directory}", "output", "-json", "-no-color"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`terraform output -json` failed in {directory} (TF_DATA_DIR={env.get('TF_DATA_DIR')}): "
            f"{result.stderr.strip()}\nIs the stack initialised and applied? {HOW_TO_START}.",
            pytrace=False,
        )
    outputs = {name: entry["value"] for name, entry in json.loads(result.stdout or "{}").items()}
    if not outputs:
        pytest.fail(
            f"{directory} has no outputs: the stack is not applied (TF_DATA_DIR={env.get('TF_DATA_DIR')}); "
            f"{HOW_TO_START}.",
            pytrace=False,
        )
    return outputs


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    """The applied stack's Terraform outputs, checked to be the stack the SDKs will talk to."""
    outputs = terraform_outputs()
    applied_to = outputs.get("endpoint")
    sdk_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if applied_to and (sdk_endpoint or "").rstrip("/") != applied_to.rstrip("/"):
        pytest.fail(
            f"the stack was applied to {applied_to} but AWS_ENDPOINT_URL is {sdk_endpoint!r}: "
            "the tests would talk to another endpoint (or to real AWS). Export AWS_ENDPOINT_URL="
            f"{applied_to}, or {HOW_TO_START}.",
            pytrace=False,
        )
    return outputs


@pytest.fixture(scope="session")
def aws_session(stack: dict[str, Any]) -> boto3.session.Session:
    """A session for the stack's region; fails fast and clearly if nothing answers at the endpoint."""
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or stack["region"])
    probe = session.client(
        "dynamodb", config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1})
    )
    problem = None
    try:
        probe.describe_table(TableName=stack["inference_table_name"])
    except (BotoCoreError, ClientError) as exc:
        problem = repr(exc)
    if problem is not None:  # failed outside the except block, so the report is this one line
        pytest.fail(
            f"the stack is not reachable at {os.environ.get('AWS_ENDPOINT_URL') or 'AWS'}: "
            f"describe_table({stack['inference_table_name']}) failed with {problem}; {HOW_TO_START}.",
            pytrace=False,
        )
    return session


@pytest.fixture(scope="session")
def dynamodb(aws_session: boto3.session.Session) -> DynamoDBClient:
    return aws_session.client("dynamodb")


@pytest.fixture(scope="session")
def s3(aws_session: boto3.session.Session) -> S3Client:
    return aws_session.client("s3")


@pytest.fixture(scope="session")
def kms(aws_session: boto3.session.Session) -> KMSClient:
    return aws_session.client("kms")


@pytest.fixture(scope="session")
def tf_outputs(stack: dict[str, Any], aws_session: boto3.session.Session) -> dict[str, Any]:
    """The stack's Terraform outputs, once the stack has been found reachable."""
    return stack
