"""R1 faults: records pushed through a fault-injecting proxy are neither lost nor duplicated.

Given a loopback proxy in front of the emulator that faults 20% of DynamoDB requests (reset,
drop-after-forward, throttle, 500, 503, delay, evenly) and 3% of S3 requests, and the retry budget a
deployed function has (botocore standard mode, 5 attempts), when N records go through
``InferenceLog.start`` + ``finish`` from 16 threads, some with bodies over 100 KB (offloaded to S3), and
``reconcile()`` then replays whatever was dead-lettered, then every record is in the table exactly once,
finished, with each body's sha256 equal to what was written, and no dead letter is left.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from decimal import Decimal
from typing import Any

from botocore.config import Config

from autoninja.records import WriteOutcome
from tests.reliability.conftest import make_log, report_figure, settings_for, sized
from tests.reliability.ledger import audit, body, describe, is_large
from tests.support.faultproxy import FAULTS, FaultProxy, Request

DYNAMODB_FAULT_RATE = 0.20
S3_FAULT_RATE = 0.03
RECORDS_PER_JOB = 500
THREADS = 16
#: Generous bound on the whole write phase (the full size takes a few minutes on 2 cores).
WRITE_DEADLINE_SECONDS = 1_800


class RandomFaults:
    """A seeded policy: each request is faulted with its service's probability, the kind uniform."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> str:
        rate = DYNAMODB_FAULT_RATE if request.service == "dynamodb" else S3_FAULT_RATE
        with self._lock:
            faulted = self._rng.random() < rate
            kind = self._rng.choice(FAULTS)
        return kind if faulted else "forward"


def test_no_record_is_lost_or_duplicated_under_injected_faults(stack: dict[str, Any], new_job: Any) -> None:
    records = sized(10_000, 2_000)
    jobs = [new_job(f"rone{i}") for i in range((records + RECORDS_PER_JOB - 1) // RECORDS_PER_JOB)]
    seed = int(os.environ.get("AUTONINJA_RELIABILITY_SEED") or random.SystemRandom().randrange(2**32))
    budget = settings_for(stack).botocore_config().merge(Config(max_pool_connections=THREADS * 2))
    started = time.monotonic()

    # Given the fault proxy in front of both services
    with FaultProxy(stack["endpoint"], RandomFaults(seed), delay_seconds=0.3) as proxy:
        log = make_log(stack, dynamodb_endpoint=proxy.endpoint, s3_endpoint=proxy.endpoint, config=budget)

        def write(seq: int) -> tuple[int, WriteOutcome, WriteOutcome]:
            handle = log.start(
                job_name=jobs[seq // RECORDS_PER_JOB],
                agent_name="code-generator",
                action_name="/generate-lambda-code",
                session_id=f"r1-{seed}",
                prompt=body(seq, "prompt"),
                attributes={"seq": seq},
            )
            first = handle.outcome
            finished = log.finish(handle, response=body(seq, "response"), duration_seconds=Decimal("0.01"))
            return seq, first, finished

        # When every record is started and finished through it, from THREADS threads
        outcomes: dict[int, tuple[WriteOutcome, WriteOutcome]] = {}
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(write, seq) for seq in range(records)]
            for future in as_completed(futures, timeout=WRITE_DEADLINE_SECONDS):
                seq, first, finished = future.result()
                outcomes[seq] = (first, finished)
        dynamodb_faults, s3_faults = proxy.faults("dynamodb"), proxy.faults("s3")
        dynamodb_requests = sum(n for (svc, _), n in proxy.service_counts.items() if svc == "dynamodb")
    write_seconds = time.monotonic() - started

    dead_lettered = sum(1 for pair in outcomes.values() if WriteOutcome.DEAD_LETTERED in pair)
    logged_only = sum(1 for pair in outcomes.values() if WriteOutcome.LOGGED_ONLY in pair)
    retried_applied = sum(1 for pair in outcomes.values() if WriteOutcome.ALREADY_APPLIED in pair)

    # ... and reconcile replays the dead letters once the faults are gone
    healthy = make_log(stack)
    report = healthy.reconcile()

    # Then each record is there exactly once, counting the table and the dead-letter prefix together
    counted = audit(healthy, jobs, range(records), body)
    seconds = time.monotonic() - started
    large = sum(1 for seq in range(records) for f in ("prompt", "response") if is_large(body(seq, f)))
    report_figure(
        f"R1 faults: {records} records (start+finish, {large} bodies >100 KB) from {THREADS} threads; "
        f"DynamoDB faults {sum(dynamodb_faults.values())}/{dynamodb_requests} requests "
        f"({describe(dynamodb_faults)}); S3 faults {sum(s3_faults.values())} ({describe(s3_faults)}); "
        f"lost {len(counted.lost)}, duplicated {counted.duplicated}, dead-lettered {dead_lettered}, "
        f"reconciled {report.replayed + report.already_present} (replayed {report.replayed}), "
        f"ambiguous retries recognised {retried_applied}, payload sha256 checked {counted.payloads_checked} "
        f"({counted.offloaded} offloaded), seed {seed}; {seconds:.0f}s (writes {write_seconds:.0f}s)"
    )
    assert len(outcomes) == records
    assert sum(dynamodb_faults.values()) >= 0.15 * records, "the proxy injected far fewer faults than asked"
    assert logged_only == 0, f"{logged_only} records reached neither the table nor S3 (only the log)"
    assert report.failed == [], report.failed[:3]
    assert counted.lost == [], f"{len(counted.lost)} records lost, e.g. {counted.lost[:5]}"
    assert counted.duplicated == 0
    assert counted.strangers == 0
    assert sum(counted.in_dead_letters.values()) == 0, "dead letters left after reconcile"
    assert counted.statuses == {"success": records}, counted.statuses
    assert counted.payloads_checked == 2 * records and counted.offloaded == large
    assert counted.mismatched == [], counted.mismatched[:3]
