"""R3 outage: while the table is unreachable every record is dead-lettered, then reconciled exactly once.

Given writers running from 8 threads through a loopback proxy, with the deployed functions' retry
budget, when the proxy resets every DynamoDB connection for a window mid-run (S3 stays up) and then
lets them through again, then

- every record started and finished inside the window was dead-lettered (start and finish), and none of
  them reached the table;
- after the window, ``reconcile()`` replays each of them into the table exactly once, a second
  ``reconcile()`` replays nothing, and counting the table and the dead-letter prefix together no record
  of the run is lost or duplicated, each finished with the bodies (sha256) that were written.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.config import Config

from autoninja.records import WriteOutcome
from tests.reliability.conftest import make_log, report_figure, settings_for, sized
from tests.reliability.ledger import audit, body, dead_letter_groups
from tests.support.faultproxy import FaultProxy, Request

THREADS = 8
DEADLINE_SECONDS = 900


@dataclass
class Written:
    seq: int
    record_id: str
    began: float
    ended: float
    start: WriteOutcome
    finish: WriteOutcome


class Outage:
    """A policy that resets every DynamoDB connection while ``down`` is set; S3 is always forwarded."""

    def __init__(self) -> None:
        self.down = threading.Event()

    def __call__(self, request: Request) -> str:
        return "reset" if request.service == "dynamodb" and self.down.is_set() else "forward"


def test_records_written_during_a_table_outage_are_dead_lettered_then_reconciled_once(
    stack: dict[str, Any], new_job: Any
) -> None:
    records = sized(3_000, 300)
    job = new_job("rthree")
    outage = Outage()
    budget = settings_for(stack).botocore_config().merge(Config(max_pool_connections=THREADS * 2))
    done: list[Written] = []
    progress = threading.Condition()
    started = time.monotonic()

    with FaultProxy(stack["endpoint"], outage) as proxy:
        log = make_log(stack, dynamodb_endpoint=proxy.endpoint, config=budget)

        def write(seq: int) -> None:
            began = time.monotonic()
            handle = log.start(
                job_name=job,
                agent_name="solution-architect",
                action_name="/design-architecture",
                prompt=body(seq, "prompt"),
                attributes={"seq": seq},
            )
            finish = log.finish(handle, response=body(seq, "response"), duration_seconds=Decimal("0.01"))
            with progress:
                done.append(Written(seq, handle.record_id, began, time.monotonic(), handle.outcome, finish))
                progress.notify_all()

        def wait_for(count: int) -> float:
            with progress:
                assert progress.wait_for(lambda: len(done) >= count, timeout=DEADLINE_SECONDS)
            return time.monotonic()

        # Given writers running; when the table becomes unreachable after a third of the records, and
        # comes back after two thirds
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(write, seq) for seq in range(records)]
            wait_for(records // 3)
            outage.down.set()
            opened = time.monotonic()
            wait_for(2 * records // 3)
            outage.down.clear()
            closed = time.monotonic()
            for future in futures:
                future.result(timeout=DEADLINE_SECONDS)
        resets = proxy.faults("dynamodb").get("reset", 0)

    inside = [w for w in done if opened <= w.began and w.ended <= closed]
    outside = [w for w in done if w.ended < opened or w.began > closed]
    healthy = make_log(stack)
    letters_before = dead_letter_groups(healthy, job)
    in_table_before = {int(item["seq"]) for item in healthy.table.query_job(job)}

    # Then every record written inside the window was dead-lettered, start and finish, and is not in the table
    assert len(done) == records
    assert len(inside) >= records // 6, f"only {len(inside)} records fell inside the window"
    not_dead_lettered = [w for w in inside if (w.start, w.finish) != (WriteOutcome.DEAD_LETTERED,) * 2]
    assert not_dead_lettered == [], not_dead_lettered[:3]
    assert all((w.start, w.finish) == (WriteOutcome.WRITTEN,) * 2 for w in outside)
    assert not {w.seq for w in inside} & in_table_before
    assert all(len(letters_before.get(w.record_id, [])) == 2 for w in inside), "start and finish letters"

    # When the table is back and reconcile runs twice
    reconciling = time.monotonic()
    first = healthy.reconcile()
    reconcile_seconds = time.monotonic() - reconciling
    second = healthy.reconcile()
    counted = audit(healthy, [job], range(records), body)
    seconds = time.monotonic() - started
    edge = records - len(inside) - len(outside)
    report_figure(
        f"R3 outage: {records} records from {THREADS} threads; table unreachable for "
        f"{closed - opened:.1f}s ({resets} connections reset); {len(inside)} records written inside the "
        f"window, {len(inside)} dead-lettered (100%), {edge} straddling its edges; reconcile #1 replayed "
        f"{first.replayed}, #2 replayed {second.replayed}; lost {len(counted.lost)}, duplicated "
        f"{counted.duplicated}; {seconds:.0f}s (reconcile #1 {reconcile_seconds:.0f}s)"
    )

    # Then each dead-lettered record was replayed once, the second run replays nothing, and nothing is
    # lost, duplicated or left behind
    assert first.failed == [] and second.failed == []
    assert first.replayed >= len(letters_before)
    assert (second.replayed, second.already_present) == (0, 0)
    assert counted.lost == [] and counted.duplicated == 0 and counted.strangers == 0
    assert sum(counted.in_dead_letters.values()) == 0
    assert counted.statuses == {"success": records}, counted.statuses
    assert counted.mismatched == [], counted.mismatched[:3]
