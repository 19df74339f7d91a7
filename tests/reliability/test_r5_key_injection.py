"""R5 key injection: no name or URI from outside ever puts, reads or lists an object outside the layout.

Given hostile values (traversal, absolute paths, separators, control characters, over-long and
look-alike Unicode names, reserved prefixes) for each of the job, phase, agent and file parts, and
``s3://`` URIs of other buckets or of the project's bucket outside artifact keys, when they reach

- the artifact store (put, get, exists, list, purge, get by URI),
- the inference log (a record's job name and record id, which become S3 key parts of offloaded bodies
  and dead letters),
- the five functions on the stack (a hostile ``job_name``; hostile file names in the code-generator's
  model output; foreign template URIs sent to the deployment-manager),

then each one is rejected with an ``InvalidInputError`` (a 4xx from the functions) before any request
reaches S3 or DynamoDB, and afterwards every object version in the bucket is an artifact
``{job}/{phase}/{agent}/{file}``, an offloaded body ``{job}/_payloads/{record_id}/{prompt|response}.txt``
or a dead letter ``_dead-letters/{job}/{record_id}/{seq}-{status}.json``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from autoninja.action import Runtime
from autoninja.artifacts import ArtifactStore, parse_artifact_key
from autoninja.errors import InvalidInputError
from autoninja.jobs import is_job_name, unattributed_job_name
from autoninja.models import Status
from autoninja.records import RECORD_ID_RE
from autoninja.settings import Settings
from tests.reliability.conftest import client, make_log, report_figure
from tests.support.functions import (
    AGENTS,
    FUNCTION_ENV,
    event_properties,
    lambda_context,
    load_event,
    load_function,
    with_properties,
)

#: Unsafe in every part of a key.
HOSTILE = (
    "",
    " ",
    ".",
    "..",
    "../..",
    "../../etc/passwd",
    "a/../../b",
    "/etc/passwd",
    "/absolute",
    "a/b",
    "a\\b",
    "..\\..\\windows",
    "a\x00b",
    "a\nb",
    "a\rb",
    "tab\there",
    "\x1b[31mred",
    "del\x7f",
    "x" * 256,
    "y" * 10_000,
    "c\u043ede",  # Cyrillic o
    "\ufb01le",  # the "fi" ligature
    "\uff4a\uff4f\uff42",  # fullwidth "job"
    "a\u202eb",  # right-to-left override
    "zero\u200bwidth",
    "f\u0131le",  # dotless i
    "caf\u00e9",
    ".hidden",
    "-dash",
    "_dead-letters",
    "_payloads",
    "%2e%2e%2fetc",
)
#: Job names that look almost right.
HOSTILE_JOBS = (
    "job-friend-20261203-120000/..",
    "job-friend-20261203-120000/../../x",
    "../job-friend-20261203-120000",
    "job-fr\u0456end-20261203-120000",  # Cyrillic i
    "JOB-FRIEND-20261203-120000",
    "job-friend-20261332-120000",
    "job-friend-20261203-120000\n",
    "job-friend-20261203-120000 ",
    "_dead-letters/job-friend-20261203-120000",
    "s3://other-bucket/job-friend-20261203-120000",
)
PAYLOAD_KEY_RE = re.compile(
    rf"(?P<job>[^/]+)/_payloads/(?P<record>{RECORD_ID_RE.pattern})/(prompt|response)\.txt"
)
DEAD_LETTER_KEY_RE = re.compile(
    rf"_dead-letters/(?P<job>[^/]+)/(?P<record>{RECORD_ID_RE.pattern})/\d{{3}}-(in_progress|success|error)\.json"
)


class Requests:
    """Counts the requests a boto3 client sends (registered on its ``before-send`` event)."""

    def __init__(self, *clients: Any) -> None:
        self.sent: Counter[str] = Counter()
        for each in clients:
            each.meta.events.register("before-send", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.sent[request.url.split("?")[0]] += 1

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def rejected(call: Any) -> bool:
    """True if ``call()`` raised an ``InvalidInputError``; any other outcome fails the test."""
    try:
        call()
    except InvalidInputError:
        return True
    return False


def outside_layout(key: str) -> str | None:
    """Why ``key`` is outside the documented layout, or None if it is an artifact, payload or dead letter."""
    for pattern in (PAYLOAD_KEY_RE, DEAD_LETTER_KEY_RE):
        match = pattern.fullmatch(key)
        if match:
            return None if is_job_name(match["job"]) else f"{key!r}: not a job name"
    try:
        parse_artifact_key(key)
    except InvalidInputError as exc:
        return f"{key!r}: {exc}"
    return None


def test_hostile_names_and_uris_are_rejected_and_nothing_lands_outside_the_layout(
    stack: dict[str, Any], new_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    job = new_job("rfive")
    bucket = stack["artifact_bucket_name"]
    log = make_log(stack)
    artifacts = ArtifactStore(log.objects)
    requests = Requests(log.objects.client, log.table.client)  # type: ignore[attr-defined]
    good = {"job": job, "phase": "code", "agent": "code-generator", "file": "app.py"}
    refused: Counter[str] = Counter()
    accepted: list[str] = []

    def attempt(kind: str, call: Any) -> None:
        if rejected(call):
            refused[kind] += 1
        else:
            accepted.append(kind)

    # Given a hostile value in each part of an artifact key, when the store is asked to use it
    for part in ("job", "phase", "agent", "file"):
        for value in HOSTILE + (HOSTILE_JOBS if part == "job" else ()):
            parts = {**good, part: value}
            args = (parts["job"], parts["phase"], parts["agent"], parts["file"])
            attempt(f"put {part}", lambda args=args: artifacts.put(*args, "injected"))
            attempt(f"get {part}", lambda args=args: artifacts.get(*args))
            attempt(f"exists {part}", lambda args=args: artifacts.exists(*args))
            if part != "file":
                attempt(
                    f"list {part}", lambda p=parts: list(artifacts.list(p["job"], p["phase"], p["agent"]))
                )
            if part == "job":
                attempt("purge job", lambda v=value: artifacts.purge(v))

    # ... or an s3:// URI of another bucket, or of this bucket outside the artifact keys
    artifact = f"{job}/requirements/requirements-analyst/requirements.json"
    uris = [
        f"s3://other-bucket/{artifact}",
        f"s3://{bucket}-evil/{artifact}",
        f"s3://{bucket}.evil.example/{artifact}",
        f"s3://{bucket[:-1]}/{artifact}",
        f"s3://evil/{bucket}/{artifact}",
        f"s3:///{bucket}/{artifact}",
        f"S3://{bucket}/{artifact}",
        f"https://{bucket}.s3.amazonaws.com/{artifact}",
        f"s3://arn:aws:s3:::other-bucket/{artifact}",
        f"s3://{bucket}\u0430/{artifact}",
        f"s3://{bucket}",
        f"s3://{bucket}/",
        f"s3://{bucket}/_dead-letters/{job}/x.json",
        f"s3://{bucket}/{job}/_payloads/rec#2026-12-03T12:00:00.000000Z#0123456789abcdef/prompt.txt",
        f"s3://{bucket}/../{artifact}",
        f"s3://{bucket}//{artifact}",
        f"s3://{bucket}/{job}/requirements/../../etc/passwd",
        f"s3://{bucket}/{artifact}/../../../x",
        f"s3://{bucket}/{job}/requirements/requirements-analyst/..",
        "/etc/passwd",
        "",
    ]
    for uri in uris:
        attempt("get_uri", lambda uri=uri: artifacts.get_uri(uri))

    # ... or a record whose job name or record id would become a key part of a body or a dead letter
    big = "x" * 200_000  # offloaded to S3 if it were ever accepted
    for value in HOSTILE + HOSTILE_JOBS:
        attempt(
            "record job",
            lambda v=value: log.start(job_name=v, agent_name="code-generator", action_name="/x", prompt=big),
        )
    for value in (*HOSTILE, "rec#../../x", "rec#2026-12-03T12:00:00.000000Z#0123456789abcdef/../../x"):
        attempt(
            "record id",
            lambda v=value: log.record(
                job_name=job,
                record_id=v,
                timestamp="2026-12-03T12:00:00.000000Z",
                agent_name="code-generator",
                action_name="model",
                prompt=big,
                response=big,
            ),
        )
    library_requests = requests.total

    # ... and when the functions on the stack get hostile job names, file names and template URIs
    for name, value in {
        **FUNCTION_ENV,
        "AUTONINJA_INFERENCE_TABLE": stack["inference_table_name"],
        "AUTONINJA_ARTIFACT_BUCKET": bucket,
        "AUTONINJA_KMS_KEY_ID": stack["kms_key_arn"],
    }.items():
        monkeypatch.setenv(name, value)
    statuses: Counter[int] = Counter()
    unattributed = unattributed_job_name(datetime.now(UTC))
    for agent in AGENTS:
        module = load_function(agent)
        module.lambda_handler.runtime = Runtime.from_settings(Settings.from_env())
        base = load_event(agent, _first_event(agent))
        if agent == "requirements-analyst":  # the job's requirements, which the code-generator reads
            valid = with_properties(load_event(agent, "extract-requirements"), job_name=job)
            stored = module.lambda_handler(valid, lambda_context(agent))
            assert stored["response"]["httpStatusCode"] == 200, stored
        events = [with_properties(base, job_name=value) for value in HOSTILE + HOSTILE_JOBS]
        if agent == "code-generator":
            code = load_event(agent, "generate-lambda-code")
            events += [
                with_properties(code, job_name=job, lambda_code=json.dumps({value: "print('injected')\n"}))
                for value in HOSTILE
                if value  # an empty name is a different mistake
            ]
        if agent == "deployment-manager":
            deploy = load_event(agent, "deploy-stack")
            events += [
                with_properties(deploy, job_name=job, cloudformation_template=uri)
                for uri in uris
                if uri.lower().startswith("s3://")
            ]
        for event in events:
            response = module.lambda_handler(event, lambda_context(agent))
            status = response["response"]["httpStatusCode"]
            statuses[int(status)] += 1
            refused[f"function {agent}"] += 1 if 400 <= status < 500 else 0
            if not 400 <= status < 500:
                accepted.append(f"{agent} {event_properties(event)}"[:200])

    # Then every hostile value was refused, none of them by a request reaching the stack ...
    attempted = sum(refused.values()) + len(accepted)
    unattributed_errors = sum(
        1 for record in log.job(unattributed) if record.status == Status.ERROR and record.agent_name in AGENTS
    )
    job_objects = sum(1 for _ in log.objects.list(f"{job}/"))

    # ... and the whole bucket, every version, holds nothing outside the layout
    s3 = client("s3", stack)
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
    ]
    strangers = [reason for key in keys if (reason := outside_layout(key))]
    seconds = time.monotonic() - started
    report_figure(
        f"R5 key injection: {attempted} hostile inputs tried ({len(HOSTILE)} unsafe parts x 4 key parts "
        f"x 4-5 store calls, {len(HOSTILE_JOBS)} look-alike job names, {len(uris)} URIs, records, "
        f"{sum(statuses.values())} function events), rejected {sum(refused.values())}, accepted "
        f"{len(accepted)}; requests sent by the rejected library calls {library_requests}; function "
        f"statuses {dict(sorted(statuses.items()))}; objects of the attacked job {job_objects}; "
        f"bucket: {len(keys)} object versions, outside the "
        f"layout {len(strangers)}; {seconds:.0f}s"
    )
    assert accepted == [], accepted[:5]
    assert library_requests == 0, requests.sent.most_common(5)
    assert unattributed_errors >= len(AGENTS) * len(HOSTILE + HOSTILE_JOBS)
    assert strangers == [], strangers[:5]


def _first_event(agent: str) -> str:
    return {
        "requirements-analyst": "analyze-complexity",
        "solution-architect": "select-services",
        "code-generator": "generate-lambda-code",
        "quality-validator": "validate-code",
        "deployment-manager": "test-deployment",
    }[agent]
