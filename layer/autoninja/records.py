"""The inference-records table: exactly-once writes, complete queries, and nothing ever lost.

Every call an agent makes, and every model prompt and response, is one record. A record is created
``in_progress`` with its raw input *before* any work happens, then moved exactly once to ``success``
(with the raw output, usage and artifacts) or ``error``.

Keys. The partition key is ``job_name``; the sort key ``record_id`` is
``rec#{timestamp}#{16 random hex}``: time-ordered, and unique even for two records in the same
microsecond. A job's reservation lives beside its records as the item ``job#meta``.

Exactly once.
- Create is a put conditional on the key being absent.
- Finish and fail replace the item, conditional on it existing and being ``in_progress``.
- When a condition fails, the existing item comes back with the failure; if its ``content_hash`` is
  the one this write would produce, an earlier attempt (for example one whose response timed out
  after the server applied it) already did the work, and the write is a no-op.
- That condition fails on a missing item, so a finish on a missing record raises
  ``RecordNotFoundError`` and never creates one.

Nothing lost. botocore retries each call in standard or adaptive mode within the configured budget.
If the table is still unreachable, the full record is written to S3 under
``_dead-letters/{job_name}/{record_id}/{seq}-{status}.json`` (DynamoDB JSON) and the caller gets
``WriteOutcome.DEAD_LETTERED``; :meth:`InferenceLog.reconcile` replays dead letters idempotently. If S3
fails too, the full record, bodies included, is logged at ERROR as the last resort.

Tamper evidence. Each write stores ``content_hash``: a sha256 over the record's fields, with bodies
represented by their sha256, so a reader can verify a record without trusting the table.

Example::

    log = InferenceLog.from_settings(Settings.from_env())
    handle = log.start(job_name=job, agent_name="code-generator", action_name="/generate-lambda-code",
                       session_id=session, prompt=raw_event_json)
    log.finish(handle, response=raw_output, artifacts=[uri], duration_seconds=Decimal("1.204"))
    for record in log.job(job):          # every page, in order
        print(record.timestamp, record.status)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from autoninja.artifacts import DEAD_LETTER_PREFIX, ObjectStore, S3ObjectStore
from autoninja.errors import InvalidKeyError, RecordNotFoundError, RecordStateError, StorageUnavailableError
from autoninja.jobs import validate_job_name
from autoninja.models import InferenceRecord, RecordKind, Status, utc_timestamp
from autoninja.payloads import BODY_FIELDS, PayloadOffloader

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from autoninja.settings import Settings

RECORD_PREFIX = "rec#"
#: Every record id: ``rec#{timestamp}#{16 hex}`` (random, or a digest for deterministic keys). The id
#: is part of S3 keys (offloaded bodies, dead letters), so nothing else is ever accepted.
RECORD_ID_RE = re.compile(r"rec#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{16}", re.ASCII)
#: Record attributes held as ``Decimal`` (money and seconds); every other number is an ``int``.
DECIMAL_FIELDS = ("cost_estimate", "duration_seconds")
JOB_META_ID = "job#meta"
HASH_VERSION = 1
MAX_ERROR_MESSAGE_CHARS = 8_192

#: Attributes left out of ``content_hash``: the hash itself, and bodies (their sha256 stands in).
_UNHASHED = frozenset({"content_hash", *BODY_FIELDS, *(f"{f}_s3_uri" for f in BODY_FIELDS)})

#: DynamoDB error codes that mean "unavailable now", as opposed to "your request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)

_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Keys, hashing and serialisation


def new_record_id(moment: datetime | None = None) -> str:
    """A unique, time-ordered sort key: ``rec#2026-12-03T19:21:42.000123Z#9f3a0c1d2b4e5f60``."""
    return f"{RECORD_PREFIX}{utc_timestamp(moment)}#{secrets.token_hex(8)}"


def dead_letter_key(job_name: str, record_id: str, seq: int, status: str) -> str:
    """Where a record waits for :meth:`InferenceLog.reconcile`:
    ``_dead-letters/{job_name}/{record_id}/{seq:03d}-{status}.json``."""
    return f"{DEAD_LETTER_PREFIX}{job_name}/{record_id}/{seq:03d}-{status}.json"


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(item: Mapping[str, Any]) -> str:
    """The record's tamper-evidence hash: sha256 of its canonical JSON, bodies by their digests."""
    fields = {k: _canonical(v) for k, v in item.items() if k not in _UNHASHED}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _to_attr(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, Mapping):
        return {"M": {k: _to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in a record (use str, int or Decimal)")


def _from_attr(attr: Mapping[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return Decimal(value) if "." in value or "e" in value or "E" in value else int(value)
    if kind == "L":
        return [_from_attr(v) for v in value]
    if kind == "M":
        return {k: _from_attr(v) for k, v in value.items()}
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    raise TypeError(f"unsupported DynamoDB attribute type {kind}")


def serialise(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Plain Python item → DynamoDB attribute values (``Decimal`` and ``int`` become ``N``)."""
    return {k: _to_attr(v) for k, v in item.items()}


def deserialise(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """DynamoDB attribute values → plain Python (``N`` becomes ``int``, or ``Decimal`` if fractional)."""
    return {k: _from_attr(v) for k, v in item.items()}


# --------------------------------------------------------------------------------------------------
# The port and its adapters


@dataclass(frozen=True)
class Conflict:
    """A conditional write did not apply. ``existing`` is the item in the way (``None``: no item)."""

    existing: dict[str, Any] | None


class InferenceTable(Protocol):
    """The persistence port for records; implemented by DynamoDB and by an in-memory fake."""

    def create(self, item: Mapping[str, Any]) -> Conflict | None:
        """Put ``item`` only if its key is absent; return the conflict otherwise."""
        ...

    def replace(self, item: Mapping[str, Any], expected: Status) -> Conflict | None:
        """Replace an existing item whose status is ``expected`` with ``item``; never create one."""
        ...

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """One item by key, or ``None``."""
        ...

    def query_job(self, job_name: str) -> Iterator[dict[str, Any]]:
        """Every record of a job, ascending by sort key, across all pages."""
        ...

    def query_session(self, session_id: str) -> Iterator[dict[str, Any]]:
        """Every record of a session (SessionIdIndex), ascending by timestamp."""
        ...

    def query_agent(self, agent_name: str, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
        """Every record of an agent in an optional [since, until] range (AgentNameTimestampIndex)."""
        ...

    def jobs(self) -> Iterator[dict[str, Any]]:
        """Every job's ``job#meta`` item."""
        ...

    def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
        """Reserve a job name with a conditional write; False if it is taken (a ``JobRegistry``)."""
        ...


class DynamoInferenceTable:
    """The DynamoDB adapter. Every expression uses attribute-name placeholders (reserved words)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, config: Any = None) -> None:
        self.table_name = table_name
        self._client = client
        self._config = config
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, client: DynamoDBClient | None = None) -> DynamoInferenceTable:
        """Build the adapter for ``settings.inference_table`` with the configured retry budget."""
        return cls(settings.inference_table, client=client, config=settings.botocore_config())

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client, created on first use (never at import time)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("dynamodb", config=self._config)
        return self._client

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raw: Any = exc.response.get("Item")
                return Conflict(deserialise(raw) if raw else None)
            if code in _TRANSIENT_CODES:
                raise StorageUnavailableError(f"DynamoDB {self.table_name}: {code}") from exc
            raise
        except BotoCoreError as exc:
            raise StorageUnavailableError(f"DynamoDB {self.table_name} unreachable: {exc}") from exc

    def create(self, item: Mapping[str, Any]) -> Conflict | None:
        result = self._call(
            self.client.put_item,
            Item=serialise(item),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": "job_name"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return result if isinstance(result, Conflict) else None

    def replace(self, item: Mapping[str, Any], expected: Status) -> Conflict | None:
        # A conditional put of the whole item, not an UpdateItem: the caller holds the full state, a
        # put is billed like an update of the same item, and no update expression has to be built.
        result = self._call(
            self.client.put_item,
            Item=serialise(item),
            ConditionExpression="attribute_exists(#pk) AND #status = :expected",
            ExpressionAttributeNames={"#pk": "job_name", "#status": "status"},
            ExpressionAttributeValues={":expected": {"S": str(expected)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return result if isinstance(result, Conflict) else None

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        response = self._call(self.client.get_item, Key=serialise(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialise(item) if item else None

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query" if "KeyConditionExpression" in kwargs else "scan")
        try:
            for page in paginator.paginate(TableName=self.table_name, **kwargs):
                for item in page.get("Items", []):
                    yield deserialise(item)
        except Exception as exc:
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, BotoCoreError) or (
                isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _TRANSIENT_CODES
            ):
                raise StorageUnavailableError(f"DynamoDB {self.table_name}: {exc}") from exc
            raise

    def query_job(self, job_name: str) -> Iterator[dict[str, Any]]:
        return self._pages(
            KeyConditionExpression="#pk = :job AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": "job_name", "#sk": "record_id"},
            ExpressionAttributeValues={":job": {"S": job_name}, ":prefix": {"S": RECORD_PREFIX}},
            ConsistentRead=True,
        )

    def query_session(self, session_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(
            IndexName="SessionIdIndex",
            KeyConditionExpression="#session = :session",
            ExpressionAttributeNames={"#session": "session_id"},
            ExpressionAttributeValues={":session": {"S": session_id}},
        )

    def query_agent(self, agent_name: str, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
        names = {"#agent": "agent_name"}
        values: dict[str, Any] = {":agent": {"S": agent_name}}
        condition = "#agent = :agent"
        if since or until:
            names["#ts"] = "timestamp"
            values[":since"] = {"S": since or ""}
            values[":until"] = {"S": until or "9999"}
            condition += " AND #ts BETWEEN :since AND :until"
        return self._pages(
            IndexName="AgentNameTimestampIndex",
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def jobs(self) -> Iterator[dict[str, Any]]:
        return self._pages(
            FilterExpression="#sk = :meta",
            ExpressionAttributeNames={"#sk": "record_id"},
            ExpressionAttributeValues={":meta": {"S": JOB_META_ID}},
        )

    def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
        item = {"job_name": job_name, "record_id": JOB_META_ID, "request": request, "created_at": created_at}
        return self.create(item) is None


class InMemoryInferenceTable:
    """The in-memory fake of :class:`InferenceTable`, with the same conditional semantics."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: Mapping[str, Any]) -> tuple[str, str]:
        return key["job_name"], key["record_id"]

    def create(self, item: Mapping[str, Any]) -> Conflict | None:
        with self._lock:
            existing = self.items.get(self._key(item))
            if existing is not None:
                return Conflict(dict(existing))
            self.items[self._key(item)] = _copy(item)
            return None

    def replace(self, item: Mapping[str, Any], expected: Status) -> Conflict | None:
        with self._lock:
            existing = self.items.get(self._key(item))
            if existing is None or existing.get("status") != expected:
                return Conflict(_copy(existing) if existing is not None else None)
            self.items[self._key(item)] = _copy(item)
            return None

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        with self._lock:
            item = self.items.get(self._key(key))
            return _copy(item) if item is not None else None

    def _select(self, predicate: Callable[[dict[str, Any]], bool], order: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            chosen = [_copy(i) for i in self.items.values() if predicate(i)]
        yield from sorted(chosen, key=lambda i: (i.get(order, ""), i["record_id"]))

    def query_job(self, job_name: str) -> Iterator[dict[str, Any]]:
        return self._select(
            lambda i: i["job_name"] == job_name and i["record_id"].startswith(RECORD_PREFIX), "record_id"
        )

    def query_session(self, session_id: str) -> Iterator[dict[str, Any]]:
        return self._select(lambda i: i.get("session_id") == session_id and "timestamp" in i, "timestamp")

    def query_agent(self, agent_name: str, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
        low, high = since or "", until or "9999"
        return self._select(
            lambda i: i.get("agent_name") == agent_name and low <= i.get("timestamp", "") <= high,
            "timestamp",
        )

    def jobs(self) -> Iterator[dict[str, Any]]:
        return self._select(lambda i: i["record_id"] == JOB_META_ID, "job_name")

    def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
        item = {"job_name": job_name, "record_id": JOB_META_ID, "request": request, "created_at": created_at}
        return self.create(item) is None


def _copy(item: Mapping[str, Any]) -> dict[str, Any]:
    return deserialise(serialise(item))


# --------------------------------------------------------------------------------------------------
# The service


class WriteOutcome(StrEnum):
    """What happened to a record write; the caller is always told."""

    WRITTEN = "written"
    ALREADY_APPLIED = "already_applied"  # a retry of a write that had already reached the table
    DEAD_LETTERED = "dead_lettered"  # the table was unavailable; the record waits in S3 for reconcile
    LOGGED_ONLY = "logged_only"  # table and S3 both failed; the full record is in the ERROR log


@dataclass
class RecordHandle:
    """A started record: what :meth:`InferenceLog.finish` and :meth:`InferenceLog.fail` need.

    It keeps the full item written at start, so finishing needs no read of the table.
    """

    item: dict[str, Any]
    bodies: dict[str, str | None]
    outcome: WriteOutcome
    started_monotonic: float = field(default_factory=time.monotonic)
    dead_letter_seq: int = 0
    deterministic_key: bool = False

    @property
    def job_name(self) -> str:
        """The record's job."""
        return str(self.item["job_name"])

    @property
    def record_id(self) -> str:
        """The record's sort key."""
        return str(self.item["record_id"])

    @property
    def key(self) -> dict[str, str]:
        """The record's table key."""
        return {"job_name": self.job_name, "record_id": self.record_id}


@dataclass
class AgentTotals:
    """Usage of one agent within a job."""

    records: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_used: int = 0
    cost_estimate: Decimal = Decimal(0)
    duration_seconds: Decimal = Decimal(0)


@dataclass
class JobSummary:
    """Counts by status and usage per agent for one job."""

    job_name: str
    by_status: dict[str, int]
    by_agent: dict[str, AgentTotals]

    @property
    def total(self) -> AgentTotals:
        """Usage over all agents."""
        total = AgentTotals()
        for agent in self.by_agent.values():
            total.records += agent.records
            total.input_tokens += agent.input_tokens
            total.output_tokens += agent.output_tokens
            total.tokens_used += agent.tokens_used
            total.cost_estimate += agent.cost_estimate
            total.duration_seconds += agent.duration_seconds
        return total


@dataclass
class ReconcileReport:
    """What :meth:`InferenceLog.reconcile` did."""

    replayed: int = 0
    already_present: int = 0
    failed: list[str] = field(default_factory=list)


class InferenceLog:
    """Start, finish and fail records exactly once; query them completely; never lose one.

    The log is built from the table port and an object store (for large payloads and dead letters).
    """

    def __init__(
        self,
        table: InferenceTable,
        objects: ObjectStore,
        *,
        payload_threshold_bytes: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        logger: Any = None,
    ) -> None:
        self.table = table
        self.objects = objects
        self.payloads = PayloadOffloader(objects, payload_threshold_bytes)
        self.clock = clock
        self.logger = logger or _log

    @classmethod
    def from_settings(
        cls, settings: Settings, *, dynamodb_client: Any = None, s3_client: Any = None, logger: Any = None
    ) -> InferenceLog:
        """The log for the configured table and bucket, with lazily created clients."""
        return cls(
            DynamoInferenceTable.from_settings(settings, client=dynamodb_client),
            S3ObjectStore.from_settings(settings, client=s3_client),
            payload_threshold_bytes=settings.payload_threshold_bytes,
            logger=logger,
        )

    # -- writes ------------------------------------------------------------------------------------

    def start(
        self,
        *,
        job_name: str,
        agent_name: str,
        action_name: str,
        prompt: str,
        session_id: str | None = None,
        model_id: str | None = None,
        kind: RecordKind = RecordKind.ACTION,
        attributes: Mapping[str, Any] | None = None,
    ) -> RecordHandle:
        """Create the ``in_progress`` record holding the raw input, before any work is done.

        ``job_name`` must parse (:class:`InvalidJobNameError` otherwise): it is the partition key and
        the first part of the S3 keys of offloaded bodies and dead letters.
        """
        validate_job_name(job_name)
        moment = self.clock()
        item: dict[str, Any] = {
            "job_name": job_name,
            "record_id": new_record_id(moment),
            "timestamp": utc_timestamp(moment),
            "agent_name": agent_name,
            "action_name": action_name,
            "record_kind": str(kind),
            "status": str(Status.IN_PROGRESS),
            "hash_version": HASH_VERSION,
        }
        if session_id:
            item["session_id"] = session_id
        if model_id:
            item["model_id"] = model_id
        item.update(attributes or {})
        bodies: dict[str, str | None] = {"prompt": prompt}
        handle = RecordHandle(item=item, bodies=bodies, outcome=WriteOutcome.WRITTEN)
        handle.outcome = self._write_new(handle)
        return handle

    def finish(
        self,
        handle: RecordHandle,
        *,
        response: str,
        model_id: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_estimate: Decimal | None = None,
        duration_seconds: Decimal | None = None,
        artifacts: Sequence[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> WriteOutcome:
        """Mark the record ``success`` with the raw output, usage and artifact URIs."""
        changes: dict[str, Any] = {"status": str(Status.SUCCESS), "artifacts_s3_uri": list(artifacts)}
        if model_id:
            changes["model_id"] = model_id
        if input_tokens is not None or output_tokens is not None:
            changes["input_tokens"] = int(input_tokens or 0)
            changes["output_tokens"] = int(output_tokens or 0)
            changes["tokens_used"] = changes["input_tokens"] + changes["output_tokens"]
        if cost_estimate is not None:
            changes["cost_estimate"] = Decimal(cost_estimate)
        changes.update(attributes or {})
        return self._complete(handle, changes, {"response": response}, duration_seconds)

    def fail(
        self,
        handle: RecordHandle,
        *,
        error_type: str,
        error_message: str,
        response: str | None = None,
        duration_seconds: Decimal | None = None,
        artifacts: Sequence[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> WriteOutcome:
        """Mark the record ``error`` with the error type and message (and any response sent)."""
        if len(error_message) > MAX_ERROR_MESSAGE_CHARS:
            extra = len(error_message) - MAX_ERROR_MESSAGE_CHARS
            error_message = f"{error_message[:MAX_ERROR_MESSAGE_CHARS]}... (+{extra} characters)"
        changes: dict[str, Any] = {
            "status": str(Status.ERROR),
            "error_type": error_type,
            "error_message": error_message,
            "artifacts_s3_uri": list(artifacts),
        }
        changes.update(attributes or {})
        return self._complete(handle, changes, {"response": response}, duration_seconds)

    def record(
        self,
        *,
        job_name: str,
        record_id: str,
        timestamp: str,
        agent_name: str,
        action_name: str,
        prompt: str,
        response: str | None,
        status: Status = Status.SUCCESS,
        kind: RecordKind = RecordKind.MODEL_INVOCATION,
        attributes: Mapping[str, Any] | None = None,
    ) -> WriteOutcome:
        """Write a complete record in one conditional put, under a caller-chosen deterministic key.

        Used for facts that arrive complete, such as model invocations read from an agent trace:
        replaying the same fact yields the same key and content, so it is written exactly once.
        ``job_name`` must parse and ``record_id`` must have the form ``rec#{timestamp}#{16 hex}``
        (:class:`InvalidJobNameError`, :class:`InvalidKeyError`), since both become parts of S3 keys.
        """
        validate_job_name(job_name)
        if not isinstance(record_id, str) or not RECORD_ID_RE.fullmatch(record_id):
            raise InvalidKeyError(f"record id {record_id!r:.80} is not rec#{{timestamp}}#{{16 hex}}")
        item: dict[str, Any] = {
            "job_name": job_name,
            "record_id": record_id,
            "timestamp": timestamp,
            "agent_name": agent_name,
            "action_name": action_name,
            "record_kind": str(kind),
            "status": str(status),
            "hash_version": HASH_VERSION,
            **(attributes or {}),
        }
        if "input_tokens" in item or "output_tokens" in item:
            item["tokens_used"] = int(item.get("input_tokens") or 0) + int(item.get("output_tokens") or 0)
        handle = RecordHandle(
            item=item,
            bodies={"prompt": prompt, "response": response},
            outcome=WriteOutcome.WRITTEN,
            deterministic_key=True,
        )
        return self._write_new(handle)

    def _write_new(self, handle: RecordHandle) -> WriteOutcome:
        try:
            packed = self._pack(handle.item, handle.bodies)
            conflict = self.table.create(packed)
        except Exception as exc:  # noqa: BLE001 - any failure to write must end in a dead letter, not a loss
            return self._dead_letter(handle, handle.item, exc)
        handle.item = packed
        if conflict is None:
            return WriteOutcome.WRITTEN
        if conflict.existing and conflict.existing.get("content_hash") == packed["content_hash"]:
            return WriteOutcome.ALREADY_APPLIED
        if not handle.deterministic_key:
            # A different record already holds this random key: vanishingly rare, but never overwrite.
            handle.item["record_id"] = new_record_id(self.clock())
            return self._write_new(handle)
        raise RecordStateError(
            f"record {handle.job_name}/{handle.record_id} already exists with different content"
        )

    def _complete(
        self,
        handle: RecordHandle,
        changes: dict[str, Any],
        bodies: dict[str, str | None],
        duration_seconds: Decimal | None,
    ) -> WriteOutcome:
        if duration_seconds is None:
            duration_seconds = Decimal(f"{time.monotonic() - handle.started_monotonic:.6f}")
        changes["duration_seconds"] = Decimal(duration_seconds)
        changes["completed_at"] = utc_timestamp(self.clock())
        before = handle.item
        target = {k: v for k, v in before.items() if k != "content_hash"} | changes
        all_bodies = handle.bodies | {k: v for k, v in bodies.items() if v is not None}
        if handle.outcome in (WriteOutcome.DEAD_LETTERED, WriteOutcome.LOGGED_ONLY):
            # The start never reached the table: keep the order by dead-lettering the final state too.
            handle.bodies = all_bodies
            return self._dead_letter(handle, target, StorageUnavailableError("start was not written"))
        try:
            packed = self._pack(target, {k: v for k, v in bodies.items() if v is not None})
            conflict = self.table.replace(packed, Status.IN_PROGRESS)
        except Exception as exc:  # noqa: BLE001 - any failure to write must end in a dead letter, not a loss
            handle.bodies = all_bodies
            return self._dead_letter(handle, target, exc)
        handle.bodies = all_bodies
        if conflict is None:
            handle.item = packed
            return WriteOutcome.WRITTEN
        if conflict.existing is None:
            raise RecordNotFoundError(
                f"record {handle.job_name}/{handle.record_id} does not exist; nothing was written"
            )
        if conflict.existing.get("content_hash") == packed["content_hash"]:
            handle.item = packed
            return WriteOutcome.ALREADY_APPLIED
        raise RecordStateError(
            f"record {handle.job_name}/{handle.record_id} is already {conflict.existing.get('status')} "
            "with different content"
        )

    def _pack(self, item: Mapping[str, Any], bodies: Mapping[str, str | None]) -> dict[str, Any]:
        packed = self.payloads.pack({k: v for k, v in item.items() if k != "content_hash"}, bodies)
        packed["content_hash"] = content_hash(packed)
        return packed

    # -- dead letters --------------------------------------------------------------------------------

    def _dead_letter(
        self, handle: RecordHandle, item: Mapping[str, Any], cause: BaseException
    ) -> WriteOutcome:
        handle.dead_letter_seq += 1
        full = {k: v for k, v in item.items() if k != "content_hash"}
        full |= {k: v for k, v in handle.bodies.items() if v is not None}
        key = dead_letter_key(handle.job_name, handle.record_id, handle.dead_letter_seq, str(full["status"]))
        try:
            body = json.dumps({"version": 1, "item": serialise(full)}, ensure_ascii=False).encode("utf-8")
            self.objects.put(key, body, content_type="application/json")
        except Exception as exc:  # noqa: BLE001 - last resort: the full record goes to the log
            self.logger.error(
                "record could not be written to the table or dead-lettered; full record follows",
                extra={"record": _canonical(full), "table_error": repr(cause), "s3_error": repr(exc)},
            )
            return WriteOutcome.LOGGED_ONLY
        self.logger.warning(
            "record dead-lettered: the table was unavailable",
            extra={
                "dead_letter_key": key,
                "job_name": handle.job_name,
                "record_id": handle.record_id,
                "table_error": repr(cause),
            },
        )
        return WriteOutcome.DEAD_LETTERED

    def reconcile(self) -> ReconcileReport:
        """Replay every dead letter into the table exactly once, then delete it.

        Safe to run repeatedly and concurrently with writers: each replay is a conditional write, so
        a record already in the table is left as it is.
        """
        report = ReconcileReport()
        groups: dict[str, list[str]] = defaultdict(list)
        for info in self.objects.list(DEAD_LETTER_PREFIX):
            groups[info.key.rsplit("/", 1)[0]].append(info.key)
        for group, keys in groups.items():
            try:
                latest = max(keys)  # highest sequence: the record's most recent state
                payload = json.loads(self.objects.get(latest))
                item = deserialise(payload["item"])
                applied = self.restore(item)
            except Exception as exc:  # noqa: BLE001 - report and keep the dead letter for the next run
                report.failed.append(f"{group}: {exc!r}")
                continue
            if applied:
                report.replayed += 1
            else:
                report.already_present += 1
            for key in keys:
                self.objects.delete(key)
        return report

    def restore(self, full: dict[str, Any]) -> bool:
        """Write a complete record (bodies inline, as dead letters and exports hold them) exactly once.

        Bodies are packed again (offloaded if large) and the content hash recomputed, so a record
        restored from an export is identical to the original. Returns False when the table already
        holds that record (or a later state of it).
        """
        bodies = {name: full.pop(name, None) for name in BODY_FIELDS}
        for name in BODY_FIELDS:
            for suffix in ("_bytes", "_sha256", "_s3_uri"):
                full.pop(name + suffix, None)
        target = self._pack(full, bodies)
        conflict = self.table.create(target)
        if conflict is None:
            return True
        existing = conflict.existing or {}
        if (
            existing.get("content_hash") == target["content_hash"]
            or existing.get("status") != Status.IN_PROGRESS
        ):
            return False
        return self.table.replace(target, Status.IN_PROGRESS) is None

    # -- reads ----------------------------------------------------------------------------------------

    def _records(self, items: Iterator[dict[str, Any]]) -> Iterator[InferenceRecord]:
        for item in items:
            yield InferenceRecord.from_item(self.payloads.unpack(item))

    def job(self, job_name: str) -> Iterator[InferenceRecord]:
        """Every record of a job, oldest first, across all pages, payloads rehydrated (lazy)."""
        return self._records(self.table.query_job(job_name))

    def session(self, session_id: str) -> Iterator[InferenceRecord]:
        """Every record of a Bedrock session, oldest first (lazy, all pages)."""
        return self._records(self.table.query_session(session_id))

    def agent(
        self, agent_name: str, since: str | None = None, until: str | None = None
    ) -> Iterator[InferenceRecord]:
        """Every record of an agent, optionally within ``[since, until]`` ISO timestamps (lazy, all pages)."""
        return self._records(self.table.query_agent(agent_name, since, until))

    def get(self, job_name: str, record_id: str) -> InferenceRecord:
        """One record by key, payloads rehydrated; ``RecordNotFoundError`` if there is none."""
        item = self.table.get({"job_name": job_name, "record_id": record_id})
        if item is None:
            raise RecordNotFoundError(f"no record {job_name}/{record_id}")
        return InferenceRecord.from_item(self.payloads.unpack(item))

    def jobs(self) -> Iterator[dict[str, Any]]:
        """Every reserved job: name, request and creation time."""
        return self.table.jobs()

    def summary(self, job_name: str) -> JobSummary:
        """Counts by status, and tokens, cost and duration per agent, over every record of a job.

        Reads items without fetching offloaded bodies: a summary needs no payload.
        """
        by_status: dict[str, int] = defaultdict(int)
        by_agent: dict[str, AgentTotals] = defaultdict(AgentTotals)
        for item in self.table.query_job(job_name):
            by_status[str(item.get("status"))] += 1
            totals = by_agent[str(item.get("agent_name"))]
            totals.records += 1
            totals.input_tokens += int(item.get("input_tokens") or 0)
            totals.output_tokens += int(item.get("output_tokens") or 0)
            totals.tokens_used += int(item.get("tokens_used") or 0)
            totals.cost_estimate += Decimal(item.get("cost_estimate") or 0)
            totals.duration_seconds += Decimal(item.get("duration_seconds") or 0)
        return JobSummary(job_name=job_name, by_status=dict(by_status), by_agent=dict(by_agent))
