"""The records contract: one suite, run against the fake, moto in-process and the emulator over HTTP.

A subclass provides two fixtures: ``log`` (an :class:`InferenceLog`) and ``job_name`` (unique per test).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from autoninja.errors import RecordNotFoundError, RecordStateError, StorageUnavailableError
from autoninja.jobs import JobNameGenerator
from autoninja.models import RecordKind, Status
from autoninja.records import Conflict, InferenceLog, RecordHandle, WriteOutcome, new_record_id


class RetriedAfterAmbiguousFailure:
    """A table whose every write is applied, then sent again, as botocore does after a timeout that
    hid a success; the caller sees the second attempt's answer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create(self, item: Mapping[str, Any]) -> Conflict | None:
        self.inner.create(item)
        return self.inner.create(item)

    def replace(self, item: Mapping[str, Any], expected: Status) -> Conflict | None:
        self.inner.replace(item, expected)
        return self.inner.replace(item, expected)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Unavailable:
    """A table that is down: every call fails as the adapter reports an exhausted retry budget."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create(self, item: Mapping[str, Any]) -> Conflict | None:
        raise StorageUnavailableError("table unreachable (injected)")

    def replace(self, *args: Any) -> Conflict | None:
        raise StorageUnavailableError("table unreachable (injected)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def start(log: InferenceLog, job_name: str, prompt: str = '{"raw": "event"}', **kw: Any) -> RecordHandle:
    params: dict[str, Any] = {
        "agent_name": "code-generator",
        "action_name": "/generate-lambda-code",
        "session_id": "session-1",
    }
    params.update(kw)
    return log.start(job_name=job_name, prompt=prompt, **params)


class RecordsContract:
    """Behaviour every InferenceLog backend must show."""

    def test_start_persists_the_raw_input_before_any_work(self, log: InferenceLog, job_name: str) -> None:
        # Given a raw event with reserved-word-looking content
        prompt = '{"status": "x", "response": "y", "timestamp": 1, "unicode": "ça va ✓"}'
        # When the record is started
        handle = start(log, job_name, prompt=prompt)
        # Then it is in the table, in_progress, with the raw input byte for byte
        assert handle.outcome is WriteOutcome.WRITTEN
        record = log.get(job_name, handle.record_id)
        assert record.status is Status.IN_PROGRESS
        assert record.prompt == prompt
        assert record.response is None
        assert record.timestamp.endswith("Z") and len(record.timestamp) == 27
        assert record.session_id == "session-1"

    def test_finish_records_output_usage_and_types(self, log: InferenceLog, job_name: str) -> None:
        handle = start(log, job_name)
        outcome = log.finish(
            handle,
            response="model said: ok",
            model_id="anthropic.claude-3-5-sonnet",
            input_tokens=1200,
            output_tokens=345,
            cost_estimate=Decimal("0.008775"),
            duration_seconds=Decimal("1.250000"),
            artifacts=["s3://b/k1", "s3://b/k2"],
        )
        assert outcome is WriteOutcome.WRITTEN
        record = log.get(job_name, handle.record_id)
        assert record.status is Status.SUCCESS
        assert record.response == "model said: ok"
        assert record.prompt == '{"raw": "event"}'
        assert (record.input_tokens, record.output_tokens, record.tokens_used) == (1200, 345, 1545)
        assert isinstance(record.input_tokens, int)
        assert record.cost_estimate == Decimal("0.008775") and isinstance(record.cost_estimate, Decimal)
        assert record.duration_seconds == Decimal("1.25") and isinstance(record.duration_seconds, Decimal)
        assert record.artifacts_s3_uri == ["s3://b/k1", "s3://b/k2"]
        assert record.model_id == "anthropic.claude-3-5-sonnet"

    def test_fail_records_error_type_and_message(self, log: InferenceLog, job_name: str) -> None:
        handle = start(log, job_name)
        assert (
            log.fail(handle, error_type="ConversionError", error_message="no JSON in the text")
            is WriteOutcome.WRITTEN
        )
        record = log.get(job_name, handle.record_id)
        assert record.status is Status.ERROR
        assert (record.error_type, record.error_message) == ("ConversionError", "no JSON in the text")

    def test_two_records_in_the_same_microsecond_both_survive(self, log: InferenceLog, job_name: str) -> None:
        frozen = datetime(2026, 12, 3, 19, 21, 42, 123456, tzinfo=UTC)
        log.clock = lambda: frozen
        first = start(log, job_name, prompt="first")
        second = start(log, job_name, prompt="second")
        assert first.item["timestamp"] == second.item["timestamp"]
        assert first.record_id != second.record_id
        assert sorted(r.prompt or "" for r in log.job(job_name)) == ["first", "second"]

    def test_retried_start_and_finish_yield_exactly_one_record(
        self, log: InferenceLog, job_name: str
    ) -> None:
        log.table = RetriedAfterAmbiguousFailure(log.table)
        handle = start(log, job_name)
        assert handle.outcome is WriteOutcome.ALREADY_APPLIED
        assert log.finish(handle, response="done") is WriteOutcome.ALREADY_APPLIED
        records = list(log.job(job_name))
        assert len(records) == 1
        assert records[0].status is Status.SUCCESS and records[0].response == "done"

    def test_finish_on_a_missing_record_raises_and_creates_nothing(
        self, log: InferenceLog, job_name: str
    ) -> None:
        ghost = RecordHandle(
            item={
                "job_name": job_name,
                "record_id": new_record_id(),
                "timestamp": "2026-12-03T00:00:00.000000Z",
                "status": "in_progress",
                "agent_name": "code-generator",
                "action_name": "/x",
            },
            bodies={"prompt": "never written"},
            outcome=WriteOutcome.WRITTEN,
        )
        with pytest.raises(RecordNotFoundError, match="does not exist"):
            log.finish(ghost, response="orphan?")
        with pytest.raises(RecordNotFoundError):
            log.fail(ghost, error_type="X", error_message="orphan?")
        assert list(log.job(job_name)) == []

    def test_a_finished_record_cannot_be_finished_again_differently(
        self, log: InferenceLog, job_name: str
    ) -> None:
        handle = start(log, job_name)
        log.finish(handle, response="first answer")
        handle.item["status"] = "in_progress"  # a stale handle, as a second writer would hold
        with pytest.raises(RecordStateError):
            log.fail(handle, error_type="Late", error_message="too late")
        assert log.get(job_name, handle.record_id).response == "first answer"

    def test_job_query_returns_every_record_in_order(
        self, log: InferenceLog, job_name: str, many: int
    ) -> None:
        base = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
        ticks = iter(range(10**6))
        log.clock = lambda: base + timedelta(milliseconds=next(ticks))
        padding = "p" * 2_000  # ~3 MB for 1,500 records: several 1 MB query pages
        for i in range(many):
            log.record(
                job_name=job_name,
                record_id=new_record_id(log.clock()),
                timestamp=f"{i:06d}",
                agent_name="solution-architect",
                action_name="/bulk",
                prompt=f"{i}:{padding}",
                response=None,
                kind=RecordKind.ACTION,
            )
        records = log.job(job_name)
        assert not isinstance(records, list)  # lazy
        seen = [int((r.prompt or "").split(":")[0]) for r in records]
        assert seen == list(range(many))

    def test_session_and_agent_queries_use_the_indexes(self, log: InferenceLog, job_name: str) -> None:
        session = f"session-{job_name}"
        agent = f"agent-{job_name}"[:60]
        base = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
        handles = []
        for minute in range(3):
            log.clock = lambda m=minute: base + timedelta(minutes=m)
            handles.append(start(log, job_name, session_id=session, agent_name=agent, prompt=f"p{minute}"))
        assert [r.prompt for r in log.session(session)] == ["p0", "p1", "p2"]
        assert [r.prompt for r in log.agent(agent)] == ["p0", "p1", "p2"]
        window = list(
            log.agent(agent, since="2026-12-03T09:00:30.000000Z", until="2026-12-03T09:01:30.000000Z")
        )
        assert [r.prompt for r in window] == ["p1"]

    def test_large_bodies_are_offloaded_and_rehydrated(self, log: InferenceLog, job_name: str) -> None:
        prompt = "P" * 1_000_000
        response = "é" * 600_000  # 1.2 MB of UTF-8
        handle = start(log, job_name, prompt=prompt)
        log.finish(handle, response=response)
        raw = log.table.get(handle.key)
        assert raw is not None
        assert "prompt" not in raw and raw["prompt_s3_uri"].startswith("s3://")
        assert raw["prompt_bytes"] == 1_000_000
        assert raw["prompt_sha256"] == hashlib.sha256(prompt.encode()).hexdigest()
        assert raw["response_sha256"] == hashlib.sha256(response.encode()).hexdigest()
        record = log.get(job_name, handle.record_id)
        assert record.prompt == prompt and record.response == response

    def test_summary_counts_statuses_and_totals_usage_per_agent(
        self, log: InferenceLog, job_name: str
    ) -> None:
        for agent, tokens, cost in [("a1", 100, "0.10"), ("a1", 50, "0.05"), ("a2", 10, "0.01")]:
            handle = start(log, job_name, agent_name=agent)
            log.finish(
                handle,
                response="ok",
                input_tokens=tokens,
                output_tokens=1,
                cost_estimate=Decimal(cost),
                duration_seconds=Decimal("0.5"),
            )
        log.fail(
            start(log, job_name, agent_name="a2"),
            error_type="E",
            error_message="m",
            duration_seconds=Decimal("0.25"),
        )
        start(log, job_name, agent_name="a2")
        summary = log.summary(job_name)
        assert summary.by_status == {"success": 3, "error": 1, "in_progress": 1}
        assert summary.by_agent["a1"].input_tokens == 150 and summary.by_agent["a1"].tokens_used == 152
        assert summary.by_agent["a1"].cost_estimate == Decimal("0.15")
        assert summary.by_agent["a2"].duration_seconds == Decimal("0.75")
        assert summary.total.records == 5

    def test_outage_dead_letters_and_reconcile_restores_exactly_once(
        self, log: InferenceLog, job_name: str
    ) -> None:
        healthy = log.table
        log.table = Unavailable(healthy)
        handle = start(log, job_name, prompt="during the outage")
        assert handle.outcome is WriteOutcome.DEAD_LETTERED
        assert log.finish(handle, response="still recorded") is WriteOutcome.DEAD_LETTERED
        assert list(healthy.query_job(job_name)) == []
        log.table = healthy
        first = log.reconcile()
        assert first.replayed >= 1 and not first.failed
        again = log.reconcile()
        assert again.replayed == 0
        records = list(log.job(job_name))
        assert len(records) == 1
        assert (records[0].status, records[0].prompt, records[0].response) == (
            Status.SUCCESS,
            "during the outage",
            "still recorded",
        )

    def test_job_names_are_reserved_uniquely_within_one_second(
        self, log: InferenceLog, job_name: str
    ) -> None:
        keyword = job_name.split("-")[1][:12]
        frozen = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
        generator = JobNameGenerator(log.table, clock=lambda: frozen)
        names = [generator.new(f"I would like a {keyword} agent") for _ in range(5)]
        assert len(set(names)) == 5
        assert all(name.startswith(f"job-{keyword}-") for name in names)
