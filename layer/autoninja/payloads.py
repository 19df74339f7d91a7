"""Large bodies: offloaded to S3 when an item would be too big, rehydrated and checked on read.

A DynamoDB item may hold at most 400 KB. A raw prompt or model response can be far larger, and the
audit trail must never truncate it. So every body (``prompt``, ``response``) is described in the item by
``{field}_bytes`` and ``{field}_sha256``; when the whole item would exceed the configured threshold,
the largest bodies move to S3, SSE-KMS, under the job's prefix::

    {job_name}/_payloads/{record_id}/{field}.txt

and the item keeps ``{field}_s3_uri`` instead of the text. Reads fetch the object, check its sha256
against the item, and put the text back, so readers never see the difference.

Example::

    offloader = PayloadOffloader(objects, threshold_bytes=100_000)
    item = offloader.pack(item, bodies={"prompt": huge_prompt})   # pointer + size + sha256
    item = offloader.unpack(item)                                 # "prompt" is back, verified
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from autoninja.artifacts import PAYLOAD_SEGMENT, ObjectStore
from autoninja.errors import IntegrityError

#: The record fields that hold raw bodies.
BODY_FIELDS: tuple[str, ...] = ("prompt", "response")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``; the digest recorded for every body and artifact."""
    return hashlib.sha256(data).hexdigest()


def item_size(item: Mapping[str, Any]) -> int:
    """Estimate an item's DynamoDB size in bytes: attribute names plus UTF-8 values (upper bound)."""
    return sum(len(name) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(len(k) + 1 + _value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + _value_size(v) for v in value)
    return 21  # numbers, booleans and null: at most 21 bytes each


def payload_key(job_name: str, record_id: str, field: str) -> str:
    """The S3 key of an offloaded body: ``{job_name}/_payloads/{record_id}/{field}.txt``."""
    return f"{job_name}/{PAYLOAD_SEGMENT}/{record_id}/{field}.txt"


class PayloadOffloader:
    """Keeps items under a size threshold by moving bodies to S3, and restores them on read."""

    def __init__(self, objects: ObjectStore, threshold_bytes: int) -> None:
        self.objects = objects
        self.threshold_bytes = threshold_bytes

    def pack(self, item: dict[str, Any], bodies: Mapping[str, str | None]) -> dict[str, Any]:
        """Return ``item`` with ``bodies`` placed inline or offloaded, plus their sizes and digests.

        ``bodies`` maps a body field to its full text. Fields already in ``item`` (inline or as a
        pointer) and not in ``bodies`` are left as they are, unless the item is still too large,
        in which case the largest inline bodies are offloaded first.
        """
        packed = dict(item)
        encoded: dict[str, bytes] = {}
        digests: dict[str, str] = {}
        for field, text in bodies.items():
            for suffix in ("", "_s3_uri", "_bytes", "_sha256"):
                packed.pop(field + suffix, None)
            if text is None:
                continue
            data = text.encode("utf-8")
            encoded[field] = data
            packed[field] = text
            packed[f"{field}_bytes"] = len(data)
            packed[f"{field}_sha256"] = digests[field] = sha256_hex(data)
        for field in self._largest_inline(packed):
            if item_size(packed) <= self.threshold_bytes:
                break
            data = encoded.get(field) or packed[field].encode("utf-8")
            stored = self.objects.put(
                payload_key(packed["job_name"], packed["record_id"], field),
                data,
                content_type="text/plain; charset=utf-8",
                sha256=digests.get(field) or packed.get(f"{field}_sha256"),
            )
            del packed[field]
            packed[f"{field}_s3_uri"] = stored.uri
        return packed

    @staticmethod
    def _largest_inline(item: Mapping[str, Any]) -> Iterable[str]:
        inline = [field for field in BODY_FIELDS if isinstance(item.get(field), str)]
        return sorted(inline, key=lambda field: item.get(f"{field}_bytes", 0), reverse=True)

    def unpack(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``item`` with offloaded bodies fetched back, each checked against its sha256."""
        unpacked = dict(item)
        for field in BODY_FIELDS:
            uri = unpacked.get(f"{field}_s3_uri")
            if not uri:
                continue
            # The record's own digest is checked below, so the transport checksum would be a second hash.
            data = self.objects.get(self.objects.key_from_uri(uri), verify=False)
            expected = unpacked.get(f"{field}_sha256")
            if expected and sha256_hex(data) != expected:
                raise IntegrityError(
                    f"{field} of record {unpacked.get('job_name')}/{unpacked.get('record_id')} "
                    f"does not match its sha256: the payload at {uri} was altered"
                )
            unpacked[field] = data.decode("utf-8")
        return unpacked
