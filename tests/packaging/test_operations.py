"""Every operation of every function, run from the deployed zips against the local stack.

For each agent, the committed valid events (``tests/events/<agent>/*.json``) run in the order of the
pipeline, on one job of the test's own. The operations that read stored artifacts find them because
the earlier agents' events ran first on the same job (the seed). Each answer is checked the way a user
would notice it: the Bedrock envelope, the record in the table (status, the raw event as prompt, the
response) and every artifact in S3, encrypted with the project's key.

On the emulator, the deployment-manager's Bedrock agent calls cannot succeed (moto has no agent action
groups and no agent runtime): those operations must answer 501 and leave an error record naming the
missing API; that is asserted, not skipped.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from autoninja.models import InferenceRecord, Status
from autoninja.records import InferenceLog
from tests.packaging.conftest import Invoke, for_test, session_records, unique_job, unique_session
from tests.support.functions import EVENTS_DIR, envelope_body, event_names, load_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: The agents in pipeline order, each with its operations in the order an agent calls them.
PIPELINE: dict[str, tuple[str, ...]] = {
    "requirements-analyst": ("extract-requirements", "analyze-complexity", "validate-requirements"),
    "solution-architect": ("design-architecture", "select-services", "generate-iac"),
    "code-generator": ("generate-lambda-code", "generate-agent-config", "generate-openapi-schema"),
    "quality-validator": ("validate-code", "security-scan", "compliance-check"),
    "deployment-manager": ("generate-cloudformation", "deploy-stack", "configure-agent", "test-deployment"),
}
#: Operations the emulator cannot complete: the API it lacks, which the 501 and the record must name.
UNSUPPORTED_ON_EMULATOR: dict[tuple[str, str], str] = {
    ("deployment-manager", "configure-agent"): "CreateAgentActionGroup",
    ("deployment-manager", "test-deployment"): "InvokeAgent",
}


def agents_with_events() -> list[str]:
    """Agents that have committed events (the last two appear as their author finishes them)."""
    return [agent for agent in PIPELINE if event_names(agent)]


def operations(agent: str) -> list[str]:
    """The agent's committed valid events: pipeline order first, any other event after, by name."""
    committed = event_names(agent)
    known = [name for name in PIPELINE[agent] if name in committed]
    return known + sorted(set(committed) - set(known))


def seed_agents(agent: str) -> list[str]:
    """The agents before ``agent`` in the pipeline (their artifacts are what ``agent`` reads)."""
    order = list(PIPELINE)
    return [earlier for earlier in order[: order.index(agent)] if event_names(earlier)]


def record_of(log: InferenceLog, session_id: str, agent: str, api_path: str) -> InferenceRecord:
    matches = [
        record
        for record in session_records(log, session_id)
        if record.agent_name == agent and record.action_name == api_path
    ]
    assert len(matches) == 1, f"expected one record of {agent} {api_path}, found {len(matches)}"
    return matches[0]


def assert_encrypted_with_the_cmk(s3: S3Client, uri: str, bucket: str, key_arn: str) -> None:
    assert uri.startswith(f"s3://{bucket}/"), uri
    head = s3.head_object(Bucket=bucket, Key=uri.removeprefix(f"s3://{bucket}/"))
    assert head["ServerSideEncryption"] == "aws:kms", uri
    assert head["SSEKMSKeyId"] == key_arn, uri


@pytest.mark.parametrize("agent", agents_with_events())
def test_every_operation_runs_from_the_zips_and_is_persisted(
    agent: str, invoke: Invoke, inference_log: InferenceLog, s3: S3Client, stack: dict[str, Any]
) -> None:
    # Given a job of this test's own, seeded with what the earlier agents store
    job, session = unique_job(agent.split("-", maxsplit=1)[0][:8]), unique_session()
    for earlier in seed_agents(agent):
        for name in operations(earlier):
            if (earlier, name) in UNSUPPORTED_ON_EMULATOR:
                continue
            seed = for_test(load_event(earlier, name), job_name=job, session_id=session)
            status = invoke(earlier, seed)["response"]["httpStatusCode"]
            assert status == 200, f"seeding {earlier} {name} answered {status}"
    bucket, key_arn = stack["artifact_bucket_name"], stack["kms_key_arn"]

    for name in operations(agent):
        event = for_test(load_event(agent, name), job_name=job, session_id=session)
        unsupported_api = UNSUPPORTED_ON_EMULATOR.get((agent, name))

        # When the deployed handler runs from its zips
        response = invoke(agent, event)

        # Then the agent gets a well-formed envelope echoing its call, with the expected status
        body = envelope_body(response, event, 501 if unsupported_api else 200)
        record = record_of(inference_log, session, agent, event["apiPath"])
        # and the table holds the raw event as prompt and the response as sent
        assert record.job_name == job
        assert json.loads(record.prompt or "null") == event, name
        assert record.response == response["response"]["responseBody"]["application/json"]["body"]
        if unsupported_api:
            assert record.status == Status.ERROR, name
            assert record.error_type == "UnsupportedOperationError", name
            assert unsupported_api in (record.error_message or ""), record.error_message
            assert unsupported_api in body["message"]
        else:
            assert record.status == Status.SUCCESS, f"{name}: {record.error_type} {record.error_message}"
            assert record.artifacts_s3_uri, f"{name} stored no artifact"
            stored = set(record.artifacts_s3_uri)
            assert set((body.get("artifacts") or {}).values()) <= stored, name
        # and every artifact it stored is in the bucket, encrypted with the project's key
        for uri in record.artifacts_s3_uri:
            assert_encrypted_with_the_cmk(s3, uri, bucket, key_arn)


def test_every_committed_event_is_exercised() -> None:
    """A new committed event joins the tier by itself; one in an unknown folder is flagged."""
    folders = sorted(path.name for path in EVENTS_DIR.iterdir() if path.is_dir())
    assert set(folders) <= set(PIPELINE), f"events for unknown agents: {set(folders) - set(PIPELINE)}"
    for agent in agents_with_events():
        assert set(operations(agent)) == set(event_names(agent))
