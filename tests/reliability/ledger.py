"""What the reliability tests write and how they count it back: bodies with known digests, and a tally
of every logical record across the table and the dead-letter prefix."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from autoninja.artifacts import DEAD_LETTER_PREFIX
from autoninja.records import InferenceLog, content_hash, deserialise
from autoninja.settings import DEFAULT_PAYLOAD_THRESHOLD_BYTES

#: Every ``LARGE_EVERY``-th prompt and response is well over the offload threshold.
LARGE_EVERY = 40
_FILLER = "λόγος-" + "x" * 94  # 100 characters, 105 bytes of UTF-8


def body(seq: int, field: str) -> str:
    """The deterministic ``prompt`` or ``response`` of logical record ``seq``.

    Small bodies are a line of JSON with non-ASCII text; one in :data:`LARGE_EVERY` (offset per field)
    is 100-160 KB, so it is offloaded to S3 and read back through its pointer.
    """
    head = json.dumps({"seq": seq, "field": field, "text": f"Grüße 👋 — record {seq} ✓"}, ensure_ascii=False)
    offset = 0 if field == "prompt" else LARGE_EVERY // 2
    if (seq + offset) % LARGE_EVERY:
        return head
    repeats = 1_000 + (seq * 7) % 500
    return head + _FILLER * repeats


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_large(text: str) -> bool:
    return len(text.encode("utf-8")) > DEFAULT_PAYLOAD_THRESHOLD_BYTES


@dataclass
class Tally:
    """Where each logical record (by its ``seq`` attribute) was found."""

    expected: set[int]
    in_table: Counter[int] = field(default_factory=Counter)
    in_dead_letters: Counter[int] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    strangers: int = 0  # items of these jobs that no test record accounts for
    record_ids: dict[int, str] = field(default_factory=dict)  # seq -> record id, as found in the table
    payloads_checked: int = 0
    offloaded: int = 0
    mismatched: list[str] = field(default_factory=list)

    def total(self, seq: int) -> int:
        return self.in_table[seq] + self.in_dead_letters[seq]

    @property
    def lost(self) -> list[int]:
        return sorted(seq for seq in self.expected if self.total(seq) == 0)

    @property
    def duplicated(self) -> int:
        seen = set(self.in_table) | set(self.in_dead_letters)
        return sum(self.total(seq) - 1 for seq in seen if self.total(seq) > 1)


def dead_letter_groups(log: InferenceLog, job: str) -> dict[str, list[str]]:
    """A job's dead letters grouped by record: ``{record_id: [keys]}``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for info in log.objects.list(f"{DEAD_LETTER_PREFIX}{job}/"):
        record_id = info.key[len(f"{DEAD_LETTER_PREFIX}{job}/") :].rsplit("/", 1)[0]
        groups[record_id].append(info.key)
    return dict(groups)


def audit(
    log: InferenceLog, jobs: Iterable[str], expected: Iterable[int], bodies: Callable[[int, str], str]
) -> Tally:
    """Count every logical record in the table (every page) and in the dead-letter prefix, in one read
    of each job: each item's content hash is recomputed, and each body (offloaded ones fetched back
    through their pointer) is compared by sha256 with what was written (``bodies(seq, field)``)."""
    result = Tally(expected=set(expected))
    for job in jobs:
        for item in log.table.query_job(job):
            if "seq" not in item:
                result.strangers += 1
                continue
            seq = int(item["seq"])
            result.in_table[seq] += 1
            result.record_ids[seq] = str(item["record_id"])
            result.statuses[str(item["status"])] += 1
            if content_hash(item) != item.get("content_hash"):
                result.mismatched.append(f"{job}/{item['record_id']} content hash")
            record = log.payloads.unpack(item)  # raises IntegrityError if a body does not match its item
            for name in ("prompt", "response"):
                result.payloads_checked += 1
                result.offloaded += 1 if item.get(f"{name}_s3_uri") else 0
                want = sha256(bodies(seq, name))
                if sha256(record.get(name) or "") != want or item.get(f"{name}_sha256") != want:
                    result.mismatched.append(f"{job}/{item['record_id']} {name}")
        for keys in dead_letter_groups(log, job).values():
            latest = json.loads(log.objects.get(max(keys)))
            result.in_dead_letters[int(deserialise(latest["item"])["seq"])] += 1
    return result


def describe(counts: dict[str, Any]) -> str:
    """``{"reset": 3, "drop": 1}`` as ``drop 1, reset 3`` (sorted, zero kinds left out)."""
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()) if n) or "none"
