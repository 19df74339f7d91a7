"""Tamper evidence over the fakes (and KMS signing on moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autoninja.artifacts import ArtifactStore, InMemoryObjectStore
from autoninja.errors import RecordStateError
from autoninja.records import InferenceLog, InMemoryInferenceTable
from autoninja.seal import SEAL_RECORD_ID, JobSealer, KmsSigner

JOB = "job-seal-20261203-101010"


@pytest.fixture
def kms_signer() -> Iterator[KmsSigner]:
    with mock_aws():
        kms = boto3.client("kms")
        key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]["Arn"]
        yield KmsSigner(key, client=kms)


@pytest.fixture
def job(kms_signer: KmsSigner) -> tuple[JobSealer, InferenceLog, ArtifactStore]:
    objects = InMemoryObjectStore()
    log = InferenceLog(InMemoryInferenceTable(), objects, payload_threshold_bytes=2_000)
    artifacts = ArtifactStore(objects)
    for index, agent in enumerate(["requirements-analyst", "code-generator"]):
        stored = artifacts.put(
            JOB, "code" if index else "requirements", agent, f"out{index}.json", {"i": index}
        )
        handle = log.start(
            job_name=JOB, agent_name=agent, action_name=f"/op{index}", prompt="p" * (index * 5_000)
        )
        log.finish(
            handle,
            response=f"r{index}",
            artifacts=[stored.uri],
            attributes={"artifacts_sha256": [stored.sha256]},
        )
    return JobSealer(log, artifacts, signer=kms_signer), log, artifacts


def items(log: InferenceLog) -> list[dict[str, Any]]:
    return list(log.table.query_job(JOB))


def test_an_intact_unsealed_job_verifies_record_by_record(job: Any) -> None:
    sealer, _, _ = job
    report = sealer.verify(JOB)
    assert report.ok and not report.sealed
    assert (report.records_checked, report.payloads_checked, report.artifacts_checked) == (2, 4, 2)


def test_a_sealed_job_verifies_with_a_valid_kms_signature(job: Any) -> None:
    sealer, _, _ = job
    seal = sealer.seal(JOB)
    assert seal["record_count"] == 2 and seal["artifact_count"] == 2 and seal["signature"]
    report = sealer.verify(JOB)
    assert report.ok and report.sealed and report.signature == "valid", report.problems
    with pytest.raises(RecordStateError, match="already sealed"):
        sealer.seal(JOB)


def test_an_altered_field_names_the_record(job: Any) -> None:
    sealer, log, _ = job
    victim = items(log)[1]
    log.table.items[(JOB, victim["record_id"])]["output_tokens"] = 999_999
    report = sealer.verify(JOB)
    assert not report.ok
    assert (
        report.problems[0] == f"record {victim['record_id']}: its fields were altered (content hash mismatch)"
    )


def test_an_altered_offloaded_payload_names_the_record(job: Any) -> None:
    sealer, log, _ = job
    victim = next(item for item in items(log) if "prompt_s3_uri" in item)
    key = log.objects.key_from_uri(victim["prompt_s3_uri"])
    log.objects.put(key, b"something else entirely")
    assert sealer.verify(JOB).problems == [
        f"record {victim['record_id']}: its prompt was altered (sha256 mismatch)"
    ]


def test_an_overwritten_artifact_is_named(job: Any) -> None:
    sealer, _, artifacts = job
    artifacts.put(JOB, "code", "code-generator", "out1.json", {"i": "tampered"})
    (problem,) = sealer.verify(JOB).problems
    assert problem.startswith(
        f"artifact s3://autoninja-fake-bucket/{JOB}/code/code-generator/out1.json: altered"
    )


def test_after_sealing_added_and_removed_records_and_artifacts_are_named(job: Any) -> None:
    sealer, log, artifacts = job
    sealer.seal(JOB)
    removed = items(log)[0]["record_id"]
    del log.table.items[(JOB, removed)]
    added = log.start(job_name=JOB, agent_name="code-generator", action_name="/late", prompt="late")
    artifacts.put(JOB, "code", "code-generator", "extra.py", "print('late')")
    problems = sealer.verify(JOB).problems
    assert f"record {removed}: removed after the job was sealed" in problems
    assert f"record {added.record_id}: added after the job was sealed" in problems
    assert any("extra.py: added after the job was sealed" in p for p in problems)


def test_a_forged_seal_fails_the_signature_and_the_seal_hash(job: Any) -> None:
    sealer, log, _ = job
    sealer.seal(JOB)
    seal = log.table.items[(JOB, SEAL_RECORD_ID)]
    seal["record_count"] = 1
    problems = sealer.verify(JOB).problems
    assert problems[0] == "seal: its fields were altered (seal hash mismatch)"


def test_an_altered_manifest_is_detected(job: Any) -> None:
    sealer, log, _ = job
    seal = sealer.seal(JOB)
    key = log.objects.key_from_uri(seal["manifest_uri"])
    manifest = json.loads(log.objects.get(key))
    manifest["records"] = manifest["records"][:1]
    log.objects.put(key, json.dumps(manifest).encode())
    assert "seal: its manifest was altered (digest mismatch)" in sealer.verify(JOB).problems
