"""R2 concurrency: many writers on one job, none colliding, none overwriting, and the job still verifies.

Library half. Given 8 processes (each its own clients, as 8 Lambda instances have) writing records on
the same job at the same moment, one in ten of them with a clock frozen to one shared microsecond (so
timestamps collide on purpose), every tenth storing an artifact it names in its record, when they are
all done, then the job holds exactly 8 x N records, each once, each the one its writer wrote (its
record id, its bodies' sha256, its content hash), and ``JobSealer`` seals the job with a KMS signature
and verifies it.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from autoninja.artifacts import ArtifactStore
from autoninja.records import WriteOutcome
from autoninja.seal import JobSealer, KmsSigner
from tests.reliability.conftest import client, make_log, report_figure, sized
from tests.reliability.ledger import audit, body

PROCESSES = 8
FROZEN = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)
DEADLINE_SECONDS = 1_200


def writer(stack: dict[str, Any], job: str, process: int, count: int, go: Any, results: Any) -> None:
    """One process's share: ``count`` records started and finished, sequence numbers of its own."""
    log = make_log(stack)
    frozen = make_log(stack)
    frozen.clock = lambda: FROZEN  # every record of this log has the same timestamp
    artifacts = ArtifactStore(log.objects)
    written: list[tuple[int, str, str, str]] = []
    go.wait(timeout=120)
    for i in range(count):
        seq = process * count + i
        chosen = frozen if i % 10 == 5 else log
        handle = chosen.start(
            job_name=job,
            agent_name="code-generator",
            action_name="/generate-lambda-code",
            session_id=f"r2-{process}",
            prompt=body(seq, "prompt"),
            attributes={"seq": seq},
        )
        stored = []
        if i % 10 == 0:
            stored = [artifacts.put(job, "code", "code-generator", f"p{process}-{i}.py", f"# {seq}\n")]
        finished = chosen.finish(
            handle,
            response=body(seq, "response"),
            artifacts=[s.uri for s in stored],
            duration_seconds=Decimal("0.01"),
            attributes={"artifacts_sha256": [s.sha256 for s in stored]},
        )
        written.append((seq, handle.record_id, str(handle.outcome), str(finished)))
    results.put((process, written))


@pytest.fixture
def signer(stack: dict[str, Any]) -> Any:
    """An asymmetric KMS key on the emulator for the job's seal; scheduled for deletion afterwards."""
    kms = client("kms", stack)
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256", Description="R2 seal (test)")
    yield KmsSigner(key["KeyMetadata"]["Arn"], client=kms)
    kms.schedule_key_deletion(KeyId=key["KeyMetadata"]["KeyId"], PendingWindowInDays=7)


def test_eight_processes_on_one_job_write_distinct_records_and_the_job_verifies(
    stack: dict[str, Any], new_job: Any, signer: KmsSigner
) -> None:
    per_process = sized(1_000, 200)
    total = PROCESSES * per_process
    job = new_job("rtwo")
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    started = time.monotonic()

    # Given 8 writer processes, released together
    processes = [
        context.Process(target=writer, args=(stack, job, p, per_process, go, results), daemon=True)
        for p in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    go.set()
    written: dict[int, list[tuple[int, str, str, str]]] = {}
    try:
        for _ in processes:
            process_id, rows = results.get(timeout=DEADLINE_SECONDS)
            written[process_id] = rows
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    write_seconds = time.monotonic() - started

    # When the job is read back, sealed and verified
    log = make_log(stack)
    counted = audit(log, [job], range(total), body)
    ids = counted.record_ids
    sealer = JobSealer(log, ArtifactStore(log.objects), signer=signer)
    seal = sealer.seal(job)
    report = sealer.verify(job)
    rows = [row for process_rows in written.values() for row in process_rows]
    frozen_prefix = f"rec#{FROZEN:%Y-%m-%dT%H:%M:%S.%f}Z#"
    collided = sum(1 for record_id in ids.values() if record_id.startswith(frozen_prefix))
    seconds = time.monotonic() - started
    report_figure(
        f"R2 concurrency (library): {PROCESSES} processes x {per_process} records on one job "
        f"({collided} sharing one microsecond); {len(ids)} distinct records, lost {len(counted.lost)}, "
        f"duplicated {counted.duplicated}, overwritten {len(counted.mismatched)}; seal "
        f"{seal['record_count']} records + {seal['artifact_count']} artifacts, signature {report.signature}, "
        f"verify {'ok' if report.ok else 'FAILED'}; {seconds:.0f}s (writes {write_seconds:.0f}s)"
    )

    # Then every record is there once, the one its writer wrote, and the sealed job verifies
    assert sorted(written) == list(range(PROCESSES))
    assert {(start, finish) for _, _, start, finish in rows} == {(WriteOutcome.WRITTEN,) * 2}
    assert {seq: record_id for seq, record_id, *_ in rows} == ids
    assert len(ids) == total and collided == PROCESSES * (per_process // 10)
    assert counted.lost == [] and counted.duplicated == 0 and counted.strangers == 0
    assert counted.statuses == {"success": total}
    assert counted.mismatched == [], counted.mismatched[:3]
    assert seal["record_count"] == total and seal["artifact_count"] == PROCESSES * (per_process // 10)
    assert report.ok and report.sealed and report.signature == "valid", report.problems[:3]
    assert report.records_checked == total


def test_eight_concurrent_invocations_of_one_packaged_function_on_one_job(
    stack: dict[str, Any], new_job: Any, signer: Any
) -> None:
    """Function half. Given one job whose requirements are stored, when 8 invocations of the packaged
    requirements-analyst (its zips, each in its own interpreter, as 8 Lambda sandboxes) extract
    requirements for it at the same moment, then the job holds 8 distinct success records, one per
    invocation with its own raw event, the artifacts they share are intact, and the sealed job verifies.
    """
    from concurrent.futures import ThreadPoolExecutor

    from autoninja_cli.invoke import invoke_packaged
    from tests.support.functions import load_event, with_properties

    job = new_job("r2fn")
    event = with_properties(load_event("requirements-analyst", "extract-requirements"), job_name=job)
    events = [{**event, "sessionId": f"r2-function-{n}"} for n in range(PROCESSES)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PROCESSES) as pool:
        responses = list(
            pool.map(lambda e: invoke_packaged("requirements-analyst", e, outputs=stack, logs=None), events)
        )
    seconds = time.monotonic() - started

    log = make_log(stack)
    records = list(log.job(job))
    sealer = JobSealer(log, ArtifactStore(log.objects), signer=signer)
    seal = sealer.seal(job)
    report = sealer.verify(job)
    statuses = sorted(r["response"]["httpStatusCode"] for r in responses)
    report_figure(
        f"R2 concurrency (packaged function): {PROCESSES} concurrent invocations of requirements-analyst "
        f"from its zips on one job; statuses {statuses}; {len(records)} records "
        f"({len({r.record_id for r in records})} distinct, {len({r.session_id for r in records})} sessions); "
        f"seal {seal['record_count']} records + {seal['artifact_count']} artifacts, "
        f"verify {'ok' if report.ok else 'FAILED'}; {seconds:.0f}s"
    )

    assert statuses == [200] * PROCESSES
    assert len(records) == PROCESSES and len({r.record_id for r in records}) == PROCESSES
    assert {r.session_id for r in records} == {e["sessionId"] for e in events}
    assert all(r.status.value == "success" for r in records)
    for record in records:  # each record holds its own invocation's raw event, not another's
        assert json.loads(str(record.prompt))["sessionId"] == record.session_id
    assert report.ok and report.sealed and report.signature == "valid", report.problems[:3]
