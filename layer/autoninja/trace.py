"""Bedrock agent traces: every model prompt and response of an InvokeAgent call, recorded exactly once.

Why. An agent's real model prompts and responses, with token usage, are in no action-group event: they
exist only in the InvokeAgent trace (``enableTrace=True``). Each ``trace`` event of the response stream
holds a ``TracePart``: who produced it (``sessionId``, ``agentId``, ``callerChain``, ``collaboratorName``,
``eventTime``) and one step of one trace kind. A model invocation is two steps of the same kind and
``traceId``: ``modelInvocationInput`` (the full prompt ``text``, ``foundationModel``, ``type``,
``inferenceConfiguration``) and later ``modelInvocationOutput`` (``rawResponse.content`` and
``metadata`` with ``usage`` and timings). A ``failureTrace`` reports a step that failed.

What this module does.
- :class:`TraceAssembler` pairs inputs with outputs, per session, producing agent, trace kind and
  ``traceId``, and turns failures and inputs whose output never came into error facts. It does no I/O.
- :class:`TraceRecorder` writes each fact the moment it is complete, as a ``model_invocation`` record
  through :meth:`InferenceLog.record`, with the full prompt and response (the log offloads large bodies),
  usage and a cost from :mod:`autoninja.pricing`.
- :func:`replay` feeds a recorded trace (a JSON list or JSON lines of stream events) through the same
  path. The InvokeAgent call itself stays out of the layer: the CLI makes it and feeds the events here.

Exactly once. A record's key is ``rec#{timestamp}#{16 hex}``: the timestamp is the input's
``eventTime`` and the hex is a sha256 of (session, trace kind, producing agent, ``traceId``). The same
trace replayed gives the same keys and content, so :meth:`InferenceLog.record` answers
``ALREADY_APPLIED`` and nothing is added. Only a part without any ``eventTime`` falls back to the time
it was received, which a replay cannot reproduce.

Example::

    recorder = TraceRecorder(log, job_name="job-friend-20261203-120000")
    for event in bedrock_agent_runtime.invoke_agent(..., enableTrace=True)["completion"]:
        recorder.feed(event)            # a record per model invocation, as soon as its output arrives
    summary = recorder.close()          # inputs without an output become error records
    print(summary.invocations, summary.input_tokens, summary.cost_estimate)
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any

from autoninja.errors import InvalidInputError, RecordStateError
from autoninja.models import Agent, RecordKind, Status, utc_timestamp
from autoninja.pricing import PRICE_TABLE_VERSION, UNPRICED, Cost, cost
from autoninja.records import RECORD_PREFIX, InferenceLog, WriteOutcome

#: Trace kinds that carry model invocations, by their key in the ``Trace`` union, with their short name.
#: (The documented ``customOrchestrationTrace`` holds only an ``event.text``; model invocations are read
#: from it if it ever carries them.)
MODEL_TRACE_KINDS: Mapping[str, str] = {
    "preProcessingTrace": "pre-processing",
    "orchestrationTrace": "orchestration",
    "postProcessingTrace": "post-processing",
    "routingClassifierTrace": "routing-classifier",
    "customOrchestrationTrace": "custom-orchestration",
}
FAILURE_KIND = "failure"

#: ``error_type`` of an invocation whose output never arrived, and of a failure without a code.
NO_OUTPUT_ERROR = "NoModelOutput"
NO_OUTPUT_MESSAGE = "no model output in the trace: the stream ended before the model invocation's output"
AGENT_FAILURE_ERROR = "AgentFailure"

#: The ``agent_name`` of trace parts the top-level agent produced.
SUPERVISOR = str(Agent.SUPERVISOR)

_MS = Decimal(1_000)
_DURATION_QUANTUM = Decimal("0.000001")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_UNSAFE = re.compile(r"[^a-z0-9]+")

_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Agent names


def autoninja_agent_name(collaborator: str | None) -> str:
    """Map a Bedrock collaborator name to an AutoNinja agent name; ``None`` means the supervisor.

    Why: Bedrock names collaborators however they were associated (``RequirementsAnalyst``,
    ``autoninja-code-generator-dev``); the trail uses AutoNinja's names so a user can query one agent.
    A name matching none of them is kept, made lower-case and kebab-cased.

    Example::

        autoninja_agent_name("RequirementsAnalyst")           # 'requirements-analyst'
        autoninja_agent_name("autoninja_quality_validator")   # 'quality-validator'
        autoninja_agent_name(None)                            # 'supervisor'
    """
    if not collaborator:
        return SUPERVISOR
    kebab = _UNSAFE.sub("-", _CAMEL.sub("-", collaborator).lower()).strip("-")
    squashed = kebab.replace("-", "")
    for agent in Agent:
        if agent.value in kebab or agent.value.replace("-", "") in squashed:
            return agent.value
    return kebab or "unknown-agent"


# --------------------------------------------------------------------------------------------------
# Values from the stream


def _moment(value: Any) -> datetime | None:
    """A trace timestamp: a ``datetime`` from boto3, an ISO-8601 string from a recorded file, or epoch."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _int(value: Any) -> int | None:
    """A non-negative whole number from the stream, or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float | Decimal) and value >= 0 and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def to_jsonable(value: Any) -> Any:
    """A stream event as plain JSON: datetimes as ISO-8601 UTC, bytes as text (or base64 if binary).

    Why: the CLI saves live traces so they can be replayed; this is the inverse of what :func:`replay`
    reads.

    Example::

        json.dumps(to_jsonable(event))
    """
    if isinstance(value, datetime):
        return utc_timestamp(_moment(value))
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class TraceOrigin:
    """Who produced a trace part, and when (from the ``TracePart`` envelope)."""

    session_id: str | None
    agent_id: str | None
    agent_alias_id: str | None
    agent_version: str | None
    collaborator_name: str | None
    caller_chain: tuple[str, ...]
    event_time: datetime | None

    @classmethod
    def of(cls, part: Mapping[str, Any]) -> TraceOrigin:
        """Read the envelope of one ``TracePart``."""
        chain = tuple(
            str(caller.get("agentAliasArn"))
            for caller in part.get("callerChain") or ()
            if isinstance(caller, Mapping) and caller.get("agentAliasArn")
        )
        return cls(
            session_id=part.get("sessionId") or None,
            agent_id=part.get("agentId") or None,
            agent_alias_id=part.get("agentAliasId") or None,
            agent_version=part.get("agentVersion") or None,
            collaborator_name=part.get("collaboratorName") or None,
            caller_chain=chain,
            event_time=_moment(part.get("eventTime")),
        )

    @property
    def is_collaborator(self) -> bool:
        """True when a collaborator, not the agent that was invoked, produced the part.

        The caller chain lists every agent between the user and the producer, the producer last; a
        single entry is the invoked agent itself. Without a chain, a collaborator name decides.
        """
        if self.caller_chain:
            return len(self.caller_chain) > 1
        return self.collaborator_name is not None

    @property
    def collaborator(self) -> str | None:
        """The producing collaborator's name (or alias ARN, if unnamed); ``None`` for the invoked agent."""
        if not self.is_collaborator:
            return None
        return self.collaborator_name or (self.caller_chain[-1] if self.caller_chain else None)

    @property
    def producer(self) -> str:
        """A stable identity of the producing agent within a session, for pairing and keys."""
        if self.caller_chain:
            return ">".join(self.caller_chain)
        return self.collaborator_name or self.agent_id or ""


# --------------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class ModelInvocation:
    """One complete fact read from a trace: a model invocation (or a failed step), ready to record.

    ``response`` is ``None`` and ``error_type`` is set when the step failed or its output never came.
    """

    kind: str
    origin: TraceOrigin
    trace_id: str | None
    prompt: str
    response: str | None
    model_id: str | None = None
    prompt_type: str | None = None
    inference_configuration: Mapping[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    duration_seconds: Decimal | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error_type: str | None = None
    error_message: str | None = None
    prompt_missing: bool = False
    received_at: datetime | None = None

    @property
    def status(self) -> Status:
        """``error`` for failures and invocations without output, else ``success``."""
        return Status.ERROR if self.error_type else Status.SUCCESS

    @property
    def identity(self) -> str:
        """What makes this fact unique: session, trace kind, producing agent and trace id."""
        trace = self.trace_id
        if not trace:
            content = f"{self.prompt}\x1f{self.response or ''}".encode()
            trace = "sha256:" + hashlib.sha256(content).hexdigest()
        return "\x1f".join((self.origin.session_id or "", self.kind, self.origin.producer, trace))

    @property
    def record_id(self) -> str:
        """The deterministic sort key ``rec#{timestamp}#{16 hex of sha256(identity)}``."""
        digest = hashlib.sha256(self.identity.encode("utf-8")).hexdigest()[:16]
        return f"{RECORD_PREFIX}{self.timestamp}#{digest}"

    @property
    def timestamp(self) -> str:
        """When the invocation started: the input part's ``eventTime``, else the best time known.

        Only the last resort, the time the part was received, differs when a trace is replayed.
        """
        return utc_timestamp(self.started_at or self.completed_at or self.received_at)


@dataclass
class _Pending:
    kind: str
    origin: TraceOrigin
    trace_id: str | None
    payload: Mapping[str, Any]
    received_at: datetime


def _usage(metadata: Mapping[str, Any]) -> tuple[int | None, int | None]:
    usage = metadata.get("usage")
    if not isinstance(usage, Mapping):
        return None, None
    return _int(usage.get("inputTokens")), _int(usage.get("outputTokens"))


def _duration(metadata: Mapping[str, Any]) -> Decimal | None:
    total = _int(metadata.get("totalTimeMs"))
    if total is not None:
        return (Decimal(total) / _MS).quantize(_DURATION_QUANTUM)
    start, end = _moment(metadata.get("startTime")), _moment(metadata.get("endTime"))
    if start and end and end >= start:
        return Decimal(str((end - start).total_seconds())).quantize(_DURATION_QUANTUM)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True)


def _compact_json(value: Mapping[str, Any] | None) -> str | None:
    """A small structure as compact JSON text: stored as a string, its numbers keep their exact form."""
    if value is None:
        return None
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def trace_part(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``TracePart`` of a stream event (``{"trace": TracePart}``), or of a bare ``TracePart``.

    Other events (``chunk``, ``returnControl``, ``files``) hold no trace and give ``None``.
    """
    part = event.get("trace")
    if not isinstance(part, Mapping):
        return None
    inner = part.get("trace")
    if isinstance(inner, Mapping) and not _is_trace_union(part):
        return part
    return event if _is_trace_union(part) else None


def _is_trace_union(value: Mapping[str, Any]) -> bool:
    return any(key in value for key in (*MODEL_TRACE_KINDS, "failureTrace", "guardrailTrace"))


class TraceAssembler:
    """Pairs model-invocation inputs with their outputs across a stream of InvokeAgent events.

    Why: an input and its output arrive as separate events, interleaved with other agents' steps; a
    fact is complete only when both are in. Pure: no I/O, so it is easy to test and to reuse.

    Example::

        assembler = TraceAssembler()
        facts = [fact for event in events for fact in assembler.add(event)]
        facts += assembler.finish()        # inputs whose output never came, as error facts
    """

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self._pending: dict[tuple[str, str, str, str], _Pending] = {}
        self._done: set[tuple[str, str, str, str]] = set()
        self.events = 0
        self.trace_parts = 0

    @staticmethod
    def _key(origin: TraceOrigin, kind: str, trace_id: str | None) -> tuple[str, str, str, str]:
        return origin.session_id or "", origin.producer, kind, trace_id or ""

    def add(self, event: Mapping[str, Any]) -> list[ModelInvocation]:
        """Take one stream event; return the facts it completes (usually zero or one)."""
        self.events += 1
        part = trace_part(event)
        if part is None:
            return []
        self.trace_parts += 1
        trace = part.get("trace")
        if not isinstance(trace, Mapping):
            return []
        origin = TraceOrigin.of(part)
        received_at = self.clock()
        facts: list[ModelInvocation] = []
        for key, kind in MODEL_TRACE_KINDS.items():
            step = trace.get(key)
            if isinstance(step, Mapping):
                facts += self._model_step(kind, origin, step, received_at)
        failure = trace.get("failureTrace")
        if isinstance(failure, Mapping):
            facts += self._failure(origin, failure, received_at)
        return facts

    def _model_step(
        self, kind: str, origin: TraceOrigin, step: Mapping[str, Any], received_at: datetime
    ) -> list[ModelInvocation]:
        facts: list[ModelInvocation] = []
        given = step.get("modelInvocationInput")
        if isinstance(given, Mapping):
            trace_id = given.get("traceId") or None
            key = self._key(origin, kind, trace_id)
            if trace_id and (key in self._pending or key in self._done):
                _log.debug("repeated model invocation input ignored", extra={"trace_id": trace_id})
            else:
                if key in self._pending:
                    # Without trace ids, steps of one agent and kind are sequential: a new input means
                    # the previous one will get no output.
                    facts.append(self._no_output(self._pending.pop(key)))
                self._pending[key] = _Pending(kind, origin, trace_id, given, received_at)
        produced = step.get("modelInvocationOutput")
        if isinstance(produced, Mapping):
            trace_id = produced.get("traceId") or None
            key = self._key(origin, kind, trace_id)
            if trace_id and key in self._done:
                _log.debug("repeated model invocation output ignored", extra={"trace_id": trace_id})
                return facts
            pending = self._pending.pop(key, None)
            if trace_id:
                self._done.add(key)
            facts.append(self._invocation(kind, origin, trace_id, pending, produced, received_at=received_at))
        return facts

    @staticmethod
    def _input_fields(pending: _Pending | None) -> dict[str, Any]:
        if pending is None:
            return {"prompt": "", "prompt_missing": True}
        given = pending.payload
        configuration = given.get("inferenceConfiguration")
        return {
            "prompt": _text(given.get("text")) or "",
            "model_id": given.get("foundationModel") or None,
            "prompt_type": given.get("type") or None,
            "inference_configuration": configuration if isinstance(configuration, Mapping) else None,
            "started_at": pending.origin.event_time,
            "received_at": pending.received_at,
        }

    def _invocation(
        self,
        kind: str,
        origin: TraceOrigin,
        trace_id: str | None,
        pending: _Pending | None,
        produced: Mapping[str, Any],
        *,
        received_at: datetime,
    ) -> ModelInvocation:
        metadata = produced.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        raw = produced.get("rawResponse")
        response = _text(raw.get("content")) if isinstance(raw, Mapping) else None
        input_tokens, output_tokens = _usage(metadata)
        fields = self._input_fields(pending) | ({} if pending else {"received_at": received_at})
        return ModelInvocation(
            kind=kind,
            origin=pending.origin if pending else origin,
            trace_id=trace_id,
            response=response if response is not None else "",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            duration_seconds=_duration(metadata),
            completed_at=origin.event_time,
            **fields,
        )

    def _failure(
        self, origin: TraceOrigin, failure: Mapping[str, Any], received_at: datetime
    ) -> list[ModelInvocation]:
        trace_id = failure.get("traceId") or None
        code = failure.get("failureCode")
        error_type = str(code) if code not in (None, "") else AGENT_FAILURE_ERROR
        message = str(failure.get("failureReason") or "the agent reported a failure without a reason")
        metadata = failure.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        input_tokens, output_tokens = _usage(metadata)
        # A failure of a step whose model input is waiting fails that invocation: one record, with its prompt.
        producer = (origin.session_id or "", origin.producer)
        failed = [
            key
            for key, pending in self._pending.items()
            if trace_id and pending.trace_id == trace_id and key[:2] == producer
        ]
        if failed:
            facts = []
            for key in failed:
                pending = self._pending.pop(key)
                self._done.add(key)
                facts.append(
                    ModelInvocation(
                        kind=pending.kind,
                        origin=pending.origin,
                        trace_id=trace_id,
                        response=None,
                        input_tokens=input_tokens,
                        output_tokens=output_tokens,
                        duration_seconds=_duration(metadata),
                        completed_at=origin.event_time,
                        error_type=error_type,
                        error_message=message,
                        **self._input_fields(pending),
                    )
                )
            return facts
        key = self._key(origin, FAILURE_KIND, trace_id)
        if trace_id and key in self._done:
            return []
        self._done.add(key)
        part = {"failureTrace": to_jsonable(failure)}
        return [
            ModelInvocation(
                kind=FAILURE_KIND,
                origin=origin,
                trace_id=trace_id,
                prompt=json.dumps(part, ensure_ascii=False, sort_keys=True),
                response=None,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                duration_seconds=_duration(metadata),
                started_at=origin.event_time,
                completed_at=origin.event_time,
                error_type=error_type,
                error_message=message,
                received_at=received_at,
            )
        ]

    def finish(self) -> list[ModelInvocation]:
        """End of stream: every input still waiting for its output becomes an error fact."""
        waiting = sorted(self._pending.items(), key=lambda item: item[1].received_at)
        self._pending.clear()
        self._done.update(key for key, pending in waiting if pending.trace_id)
        return [self._no_output(pending) for _, pending in waiting]

    def _no_output(self, pending: _Pending) -> ModelInvocation:
        return ModelInvocation(
            kind=pending.kind,
            origin=pending.origin,
            trace_id=pending.trace_id,
            response=None,
            error_type=NO_OUTPUT_ERROR,
            error_message=NO_OUTPUT_MESSAGE,
            **self._input_fields(pending),
        )

    @property
    def pending(self) -> int:
        """How many inputs are waiting for their output."""
        return len(self._pending)


# --------------------------------------------------------------------------------------------------
# Recording


@dataclass
class AgentUsage:
    """Model usage of one agent within a trace."""

    invocations: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_estimate: Decimal = Decimal("0.000000")
    unpriced: int = 0


@dataclass(frozen=True)
class TraceSummary:
    """What a trace held and what recording it did.

    Counts describe the trace (a replay reports the same usage), ``outcomes`` what the writes did:
    on a replay every write is ``already_applied``. ``cost_estimate`` sums priced invocations only;
    ``unpriced`` counts those that could not be priced.
    """

    job_name: str
    events: int
    trace_parts: int
    invocations: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_estimate: Decimal
    unpriced: int
    price_table_version: str
    outcomes: Mapping[str, int]
    by_agent: Mapping[str, AgentUsage]
    record_ids: tuple[str, ...]
    conflicts: tuple[str, ...] = ()

    def __str__(self) -> str:
        """One line for people: invocations, errors, tokens, cost and what the writes did."""
        writes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items()))
        conflicts = f", {len(self.conflicts)} conflicting" if self.conflicts else ""
        return (
            f"{self.invocations} model invocations, {self.errors} errors, {self.tokens_used:,} tokens "
            f"({self.input_tokens:,} in / {self.output_tokens:,} out), {self.cost_label} "
            f"(price table {self.price_table_version}); records: {writes or 'none'}{conflicts}"
        )

    @property
    def records(self) -> int:
        """How many records the trace maps to (model invocations plus error records)."""
        return self.invocations + self.errors

    @property
    def tokens_used(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def written(self) -> int:
        """Records this run added to the table."""
        return self.outcomes.get(str(WriteOutcome.WRITTEN), 0)

    @property
    def cost_label(self) -> str:
        """For people: ``"$0.295242"``, ``"$0.012000 + 2 unpriced"``, or ``"unpriced"`` (never a false $0)."""
        if self.unpriced and not self.cost_estimate:
            return UNPRICED
        priced = f"${self.cost_estimate}"
        return f"{priced} + {self.unpriced} unpriced" if self.unpriced else priced


class TraceRecorder:
    """Records an InvokeAgent trace as it streams: one ``model_invocation`` record per invocation.

    Why: the prompts and responses are the audit trail's most valuable content and the stream is
    the only place they exist, so each is persisted the moment it is complete, exactly once.

    ``agent_name_for`` maps the producing collaborator's name (``None`` for the invoked agent) to the
    record's ``agent_name``; by default :func:`autoninja_agent_name`.

    Example::

        recorder = TraceRecorder(log, job_name=job)
        for event in stream:
            recorder.feed(event)
        summary = recorder.close()
    """

    def __init__(
        self,
        log: InferenceLog,
        *,
        job_name: str,
        agent_name_for: Callable[[str | None], str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.log = log
        self.job_name = job_name
        self.agent_name_for = agent_name_for or autoninja_agent_name
        self.clock = clock or log.clock
        self.assembler = TraceAssembler(self.clock)
        self._outcomes: Counter[str] = Counter()
        self._by_agent: dict[str, AgentUsage] = {}
        self._record_ids: list[str] = []
        self._conflicts: list[str] = []
        self._invocations = 0
        self._errors = 0

    def feed(self, event: Mapping[str, Any]) -> list[WriteOutcome]:
        """Take one stream event; write every fact it completes; return what each write did."""
        return [outcome for fact in self.assembler.add(event) if (outcome := self._write(fact))]

    def close(self) -> TraceSummary:
        """End of stream: write the inputs that never got an output as errors; summarise the trace."""
        for fact in self.assembler.finish():
            self._write(fact)
        return self.summary()

    def summary(self) -> TraceSummary:
        """The summary so far (:meth:`close` returns the final one)."""
        agents = {name: AgentUsage(**vars(usage)) for name, usage in sorted(self._by_agent.items())}
        return TraceSummary(
            job_name=self.job_name,
            events=self.assembler.events,
            trace_parts=self.assembler.trace_parts,
            invocations=self._invocations,
            errors=self._errors,
            input_tokens=sum(a.input_tokens for a in agents.values()),
            output_tokens=sum(a.output_tokens for a in agents.values()),
            cost_estimate=sum((a.cost_estimate for a in agents.values()), Decimal("0.000000")),
            unpriced=sum(a.unpriced for a in agents.values()),
            price_table_version=PRICE_TABLE_VERSION,
            outcomes=dict(self._outcomes),
            by_agent=agents,
            record_ids=tuple(self._record_ids),
            conflicts=tuple(self._conflicts),
        )

    def _write(self, fact: ModelInvocation) -> WriteOutcome | None:
        agent_name = self.agent_name_for(fact.origin.collaborator)
        record_id = fact.record_id
        priced = cost(fact.model_id, fact.input_tokens, fact.output_tokens)
        self._count(agent_name, fact, priced)
        try:
            outcome = self.log.record(
                job_name=self.job_name,
                record_id=record_id,
                timestamp=fact.timestamp,
                agent_name=agent_name,
                action_name=f"model:{fact.kind}",
                prompt=fact.prompt,
                response=fact.response,
                status=fact.status,
                kind=RecordKind.MODEL_INVOCATION,
                attributes=self._attributes(fact, priced),
            )
        except RecordStateError as exc:
            # Another trace already recorded this invocation differently (say, as "no output" before
            # the full trace was found). Never overwrite; report it and keep recording the stream.
            _log.warning(
                "trace record conflicts with an existing record; left as it is",
                extra={"job_name": self.job_name, "record_id": record_id, "error": str(exc)},
            )
            self._conflicts.append(record_id)
            return None
        self._outcomes[str(outcome)] += 1
        self._record_ids.append(record_id)
        return outcome

    def _count(self, agent_name: str, fact: ModelInvocation, priced: Cost) -> None:
        usage = self._by_agent.setdefault(agent_name, AgentUsage())
        if fact.status is Status.ERROR:
            usage.errors += 1
            self._errors += 1
        else:
            usage.invocations += 1
            self._invocations += 1
        usage.input_tokens += fact.input_tokens or 0
        usage.output_tokens += fact.output_tokens or 0
        if priced.amount is not None:
            usage.cost_estimate += priced.amount
        elif fact.status is Status.SUCCESS:
            usage.unpriced += 1

    @staticmethod
    def _attributes(fact: ModelInvocation, priced: Cost) -> dict[str, Any]:
        origin = fact.origin
        attributes: dict[str, Any] = {
            "source": "bedrock-agent-trace",
            "trace_kind": fact.kind,
            "priced": priced.priced,
            "price_table_version": priced.price_table_version,
        }
        optional: dict[str, Any] = {
            "session_id": origin.session_id,
            "model_id": fact.model_id,
            "trace_id": fact.trace_id,
            "prompt_type": fact.prompt_type,
            "input_tokens": fact.input_tokens,
            "output_tokens": fact.output_tokens,
            "cost_estimate": priced.amount,
            "priced_as": priced.priced_as,
            "unpriced_reason": None if priced.priced else priced.reason,
            "duration_seconds": fact.duration_seconds,
            "completed_at": utc_timestamp(fact.completed_at) if fact.completed_at else None,
            "error_type": fact.error_type,
            "error_message": fact.error_message,
            "bedrock_agent_id": origin.agent_id,
            "bedrock_agent_alias_id": origin.agent_alias_id,
            "bedrock_agent_version": origin.agent_version,
            "collaborator_name": origin.collaborator_name,
            "caller_chain": list(origin.caller_chain) or None,
            "inference_configuration": _compact_json(fact.inference_configuration),
        }
        attributes.update({name: value for name, value in optional.items() if value is not None})
        if fact.prompt_missing:
            attributes["prompt_missing"] = True
        if fact.input_tokens is not None or fact.output_tokens is not None:
            attributes["input_tokens"] = fact.input_tokens or 0
            attributes["output_tokens"] = fact.output_tokens or 0
        return attributes


# --------------------------------------------------------------------------------------------------
# Recorded traces


def load_events(path: str | PathLike[str]) -> list[dict[str, Any]]:
    """Read a recorded trace: a JSON list of stream events, or JSON lines (one event a line).

    Example::

        events = load_events("tests/traces/friend-agent.json")
    """
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        loaded = json.loads(stripped)
    else:
        loaded = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(loaded, list) or not all(isinstance(event, dict) for event in loaded):
        raise InvalidInputError(f"{path}: a recorded trace is a JSON list or JSON lines of event objects")
    return loaded


def replay(
    log: InferenceLog,
    events: Iterable[Mapping[str, Any]] | str | PathLike[str],
    *,
    job_name: str,
    agent_name_for: Callable[[str | None], str] | None = None,
) -> TraceSummary:
    """Record a recorded trace (events, or the path of a JSON / JSON-lines file) as a live one would be.

    Why: the same code path records live streams and saved ones, and replaying is idempotent, so a
    trace can be (re-)imported at any time without duplicating a record.

    Example::

        summary = replay(log, "tests/traces/friend-agent.json", job_name="job-friend-20261203-120000")
        summary.outcomes      # {'written': 21} the first time, {'already_applied': 21} after that
    """
    stream: Iterable[Mapping[str, Any]] = (
        load_events(events) if isinstance(events, str | PathLike) else events
    )
    recorder = TraceRecorder(log, job_name=job_name, agent_name_for=agent_name_for)
    for event in stream:
        recorder.feed(event)
    return recorder.close()
