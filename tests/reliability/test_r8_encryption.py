"""R8 encryption and transport: every object a job writes carries the project CMK, and the bucket
policy Terraform renders denies plain-HTTP requests and uploads without that key.

Given a job run on the stack through the five functions (every committed valid event, in pipeline
order, job name replaced), plus a record whose bodies are offloaded and one that is dead-lettered
(its table unreachable), when every object version the job left is read back with ``HeadObject``, then
each is SSE-KMS with the stack's CMK and carries a SHA256 checksum, and every ``PutObject`` the library
sent asked for exactly that (so the policy's KMS denies would let it through).

And statically, since the emulator does not enforce bucket policies: the policy document Terraform
rendered for the applied stack (``terraform show -json``) denies ``s3:*`` without TLS on the bucket and
its objects, and denies ``PutObject`` unless it is ``aws:kms`` with the stack's CMK.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from botocore.config import Config

from autoninja.action import Runtime
from autoninja.artifacts import DEAD_LETTER_PREFIX, ArtifactStore
from autoninja.records import WriteOutcome
from autoninja.settings import Settings
from autoninja_cli.stack import DEFAULT_TF_DIR
from tests.reliability.conftest import client, make_log, report_figure, settings_for
from tests.support.functions import (
    AGENTS,
    FUNCTION_ENV,
    event_names,
    lambda_context,
    load_event,
    load_function,
    with_properties,
)

POLICY_ADDRESS = "module.artifact_store.data.aws_iam_policy_document.this"


class PutRequests:
    """The SSE headers of every ``PutObject`` a client sends (``before-send`` on its events)."""

    def __init__(self, s3: Any) -> None:
        self.seen: list[tuple[str, str | None, str | None]] = []
        s3.meta.events.register("before-send.s3.PutObject", self._remember)

    def _remember(self, request: Any, **_: Any) -> None:
        def header(name: str) -> str | None:
            value = request.headers.get(name)
            return value.decode() if isinstance(value, bytes) else value

        self.seen.append(
            (
                request.url,
                header("x-amz-server-side-encryption"),
                header("x-amz-server-side-encryption-aws-kms-key-id"),
            )
        )


def rendered_bucket_policy() -> dict[str, Any]:
    """The artifacts bucket policy as Terraform rendered it for the applied local stack."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH", pytrace=False)
    directory = os.environ.get("AUTONINJA_TF_DIR", DEFAULT_TF_DIR)
    shown = subprocess.run(
        [terraform, f"-chdir={directory}", "show", "-json", "-no-color"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = [json.loads(shown.stdout)["values"]["root_module"]]
    while modules:
        module = modules.pop()
        for resource in module.get("resources", []):
            if resource["address"] == POLICY_ADDRESS:
                return json.loads(resource["values"]["json"])  # type: ignore[no-any-return]
        modules.extend(module.get("child_modules", []))
    pytest.fail(f"{POLICY_ADDRESS} is not in the applied state", pytrace=False)


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"statement {sid} missing from the rendered policy"
    return found[0]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_object_of_a_job_carries_the_cmk_and_the_policy_denies_plain_http_and_other_keys(
    stack: dict[str, Any], new_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    job = new_job("reight")
    cmk = stack["kms_key_arn"]
    bucket_arn = stack["artifact_bucket_arn"]
    log = make_log(stack)
    puts = PutRequests(log.objects.client)  # type: ignore[attr-defined]
    for name, value in {
        **FUNCTION_ENV,
        "AUTONINJA_INFERENCE_TABLE": stack["inference_table_name"],
        "AUTONINJA_ARTIFACT_BUCKET": stack["artifact_bucket_name"],
        "AUTONINJA_KMS_KEY_ID": cmk,
    }.items():
        monkeypatch.setenv(name, value)

    # Given a job run through every function, every committed valid event in pipeline order
    statuses: Counter[int] = Counter()
    for agent in AGENTS:
        module = load_function(agent)
        module.lambda_handler.runtime = Runtime(Settings.from_env(), log, ArtifactStore(log.objects))
        for name in (n for n in event_names(agent) if "/" not in n):
            event = with_properties(load_event(agent, name), job_name=job)
            response = module.lambda_handler(event, lambda_context(agent))
            statuses[int(response["response"]["httpStatusCode"])] += 1

    # ... a record with offloaded bodies, and one dead-lettered while its table is unreachable
    big = "b" * 250_000
    handle = log.start(job_name=job, agent_name="code-generator", action_name="/r8", prompt=big)
    offloaded = log.finish(handle, response=big, duration_seconds=Decimal("0.01"))
    unreachable = make_log(
        stack,
        dynamodb_endpoint="http://127.0.0.1:9",  # the discard port: nothing listens
        config=settings_for(stack).botocore_config().merge(Config(retries={"total_max_attempts": 2})),
    )
    puts_dead = PutRequests(unreachable.objects.client)  # type: ignore[attr-defined]
    lettered = unreachable.start(job_name=job, agent_name="code-generator", action_name="/r8", prompt="x")

    # When every object version the job left is read back
    s3 = client("s3", stack)
    versions = [
        (entry["Key"], entry["VersionId"])
        for prefix in (f"{job}/", f"{DEAD_LETTER_PREFIX}{job}/")
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=stack["artifact_bucket_name"], Prefix=prefix
        )
        for entry in page.get("Versions", [])
    ]
    kinds: Counter[str] = Counter()
    wrong: list[str] = []
    for key, version in versions:
        head = s3.head_object(
            Bucket=stack["artifact_bucket_name"], Key=key, VersionId=version, ChecksumMode="ENABLED"
        )
        kinds["dead letter" if key.startswith(DEAD_LETTER_PREFIX) else key.split("/")[1]] += 1
        if (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) != ("aws:kms", cmk):
            wrong.append(f"{key}: {head.get('ServerSideEncryption')} {head.get('SSEKMSKeyId')}")
        if not head.get("ChecksumSHA256"):
            wrong.append(f"{key}: no SHA256 checksum")
    sent = puts.seen + puts_dead.seen
    unencrypted_puts = [url for url, sse, key in sent if (sse, key) != ("aws:kms", cmk)]

    # And the policy Terraform rendered for this stack
    policy = rendered_bucket_policy()
    tls = statement(policy, "DenyInsecureTransport")
    not_kms = statement(policy, "DenyUploadsNotEncryptedWithKms")
    other_key = statement(policy, "DenyUploadsWithAnotherKmsKey")
    seconds = time.monotonic() - started
    report_figure(
        f"R8 encryption: a job through {len(AGENTS)} functions ({sum(statuses.values())} events, statuses "
        f"{dict(sorted(statuses.items()))}) + 1 offloaded record + 1 dead letter; {len(versions)} object "
        f"versions ({dict(sorted(kinds.items()))}), SSE-KMS with the project CMK "
        f"{len(versions) - len(wrong)}, other {len(wrong)}; PutObject requests {len(sent)}, "
        f"without the CMK {len(unencrypted_puts)}; "
        f"rendered bucket policy: TLS deny, non-KMS deny and other-key deny present "
        f"(attached in environments/aws; here {stack['artifact_bucket_policy_attached']}); "
        f"{seconds:.0f}s"
    )

    # Then every object is SSE-KMS with the CMK and checksummed, and every upload asked for that key
    assert offloaded == WriteOutcome.WRITTEN and lettered.outcome == WriteOutcome.DEAD_LETTERED
    assert kinds["_payloads"] >= 2 and kinds["dead letter"] >= 1, kinds
    assert sum(kinds.values()) > kinds["_payloads"] + kinds["dead letter"], "the functions stored nothing"
    assert wrong == [], wrong[:5]
    assert len(sent) >= len(versions) and unencrypted_puts == [], unencrypted_puts[:5]
    # ... and the policy denies plain HTTP on the bucket and its objects, and uploads without the CMK
    assert (tls["Effect"], as_list(tls["Action"])) == ("Deny", ["s3:*"])
    assert set(as_list(tls["Resource"])) == {bucket_arn, f"{bucket_arn}/*"}
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Principal"] in ("*", {"AWS": "*"})
    for deny, variable, value in (
        (not_kms, "s3:x-amz-server-side-encryption", "aws:kms"),
        (other_key, "s3:x-amz-server-side-encryption-aws-kms-key-id", cmk),
    ):
        assert (deny["Effect"], as_list(deny["Action"])) == ("Deny", ["s3:PutObject"])
        assert as_list(deny["Resource"]) == [f"{bucket_arn}/*"]
        assert deny["Condition"] == {"StringNotEqualsIfExists": {variable: value}}
