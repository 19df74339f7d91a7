"""Tamper evidence: verify a job's trail, and seal it when it completes.

Costs nothing on the write path: every record already stores ``content_hash`` (its fields, with bodies
by their sha256) and the sha256 of each artifact it stored, all computed from what the writer holds.

**Verify** recomputes every record's hash, every body's digest (fetching offloaded payloads), and each
artifact's current checksum against the last record that wrote it. It names the first bad record or
artifact.

**Seal** (when a job completes) writes a manifest, the ordered ``(record_id, content_hash)`` list and the
``(key, sha256)`` list of the artifacts, to ``{job}/orchestration/supervisor/job_seal.json``, and the
item ``job#seal`` in the table with both lists' digests, the counts and ``seal_hash`` over them. With a
KMS asymmetric key configured (``AUTONINJA_SIGNING_KEY_ID``), ``seal_hash`` is signed, so a reader who
holds only the public key can check it. After sealing, verify also names any record or artifact that
was added, removed or altered.

Example::

    sealer = JobSealer(log, artifacts, signer=KmsSigner(settings.signing_key_id))
    sealer.seal("job-friend-20261203-192142")
    report = sealer.verify("job-friend-20261203-192142")
    report.ok, report.problems[:1]
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from autoninja.artifacts import ArtifactStore, ObjectStore
from autoninja.errors import ArtifactNotFoundError, IntegrityError, NotFoundError, RecordStateError
from autoninja.models import Agent, Phase, utc_timestamp
from autoninja.payloads import BODY_FIELDS, sha256_hex
from autoninja.records import InferenceLog, content_hash

SEAL_RECORD_ID = "job#seal"
SEAL_MANIFEST = "job_seal.json"
SIGNING_ALGORITHM = "ECDSA_SHA_256"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Signer(Protocol):
    """Signs and checks a seal's sha256 digest (a KMS asymmetric key, or a fake in tests)."""

    key_id: str
    algorithm: str

    def sign(self, digest: bytes) -> bytes:
        """A signature over a 32-byte sha256 digest."""
        ...

    def verify(self, digest: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is valid for ``digest``."""
        ...


class KmsSigner:
    """A KMS asymmetric (ECC_NIST_P256) key as :class:`Signer`; the client is created lazily."""

    algorithm = SIGNING_ALGORITHM

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The KMS client, created on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("kms")
        return self._client

    def sign(self, digest: bytes) -> bytes:
        response = self.client.sign(
            KeyId=self.key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=self.algorithm
        )
        return bytes(response["Signature"])

    def verify(self, digest: bytes, signature: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            response = self.client.verify(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                Signature=signature,
                SigningAlgorithm=self.algorithm,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "KMSInvalidSignatureException":
                return False
            raise
        return bool(response.get("SignatureValid"))

    def public_key(self) -> bytes:
        """The DER-encoded public key, for readers who verify without KMS access."""
        return bytes(self.client.get_public_key(KeyId=self.key_id)["PublicKey"])


@dataclass
class VerifyReport:
    """The outcome of :meth:`JobSealer.verify`; ``problems[0]`` is the first bad thing found."""

    job_name: str
    sealed: bool = False
    signature: str = "absent"  # "valid", "invalid" or "absent"
    records_checked: int = 0
    payloads_checked: int = 0
    artifacts_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found altered, added or removed."""
        return not self.problems and self.records_checked > 0 and self.signature != "invalid"


class JobSealer:
    """Seals and verifies jobs over an :class:`InferenceLog` and an :class:`ArtifactStore`."""

    def __init__(self, log: InferenceLog, artifacts: ArtifactStore, signer: Signer | None = None) -> None:
        self.log = log
        self.artifacts = artifacts
        self.signer = signer

    @property
    def _objects(self) -> ObjectStore:
        return self.artifacts.objects

    # -- what a job holds now -----------------------------------------------------------------------

    def _record_items(self, job_name: str) -> list[dict[str, Any]]:
        return list(self.log.table.query_job(job_name))

    def _artifact_checksums(self, job_name: str) -> list[list[str]]:
        return sorted(
            [info.key, self._objects.head(info.key).sha256] for info in self.artifacts.list(job_name)
        )

    # -- seal ---------------------------------------------------------------------------------------

    def seal(self, job_name: str) -> dict[str, Any]:
        """Write the job's manifest and its ``job#seal`` item; a job is sealed once.

        Raises :class:`RecordStateError` if the job is already sealed.
        """
        records = [[item["record_id"], item.get("content_hash", "")] for item in self._record_items(job_name)]
        if not records:
            raise NotFoundError(f"job {job_name} has no records to seal")
        artifacts = self._artifact_checksums(job_name)
        sealed_at = utc_timestamp(datetime.now(UTC))
        summary = {
            "job_name": job_name,
            "sealed_at": sealed_at,
            "record_count": len(records),
            "records_digest": _digest(records),
            "artifact_count": len(artifacts),
            "artifacts_digest": _digest(artifacts),
        }
        seal_hash = _digest(summary)
        item: dict[str, Any] = {**summary, "record_id": SEAL_RECORD_ID, "seal_hash": seal_hash}
        if self.signer is not None:
            signature = self.signer.sign(bytes.fromhex(seal_hash))
            item |= {
                "signature": base64.b64encode(signature).decode("ascii"),
                "signing_key_id": self.signer.key_id,
                "signing_algorithm": self.signer.algorithm,
            }
        manifest = {**item, "records": records, "artifacts": artifacts}
        stored = self.artifacts.put(job_name, Phase.ORCHESTRATION, Agent.SUPERVISOR, SEAL_MANIFEST, manifest)
        item["manifest_uri"] = stored.uri
        item["manifest_sha256"] = stored.sha256
        conflict = self.log.table.create(item)
        if conflict is not None:
            raise RecordStateError(
                f"job {job_name} is already sealed (at {(conflict.existing or {}).get('sealed_at')})"
            )
        return item

    # -- verify -------------------------------------------------------------------------------------

    def verify(self, job_name: str) -> VerifyReport:
        """Recompute everything a job's trail claims; list every problem, first bad thing first."""
        report = VerifyReport(job_name=job_name)
        items = self._record_items(job_name)
        latest_artifact: dict[str, tuple[str, str]] = {}
        for item in items:
            report.records_checked += 1
            self._check_record(item, report)
            uris = item.get("artifacts_s3_uri") or []
            digests = item.get("artifacts_sha256") or []
            for uri, digest in zip(uris, digests, strict=False):
                latest_artifact[uri] = (digest, item["record_id"])
        for uri, (digest, record_id) in latest_artifact.items():
            report.artifacts_checked += 1
            self._check_artifact(uri, digest, record_id, report)
        seal = self.log.table.get({"job_name": job_name, "record_id": SEAL_RECORD_ID})
        if seal is not None:
            report.sealed = True
            self._check_seal(seal, items, report)
        return report

    def _check_record(self, item: Mapping[str, Any], report: VerifyReport) -> None:
        record_id = item["record_id"]
        if content_hash(item) != item.get("content_hash"):
            report.problems.append(f"record {record_id}: its fields were altered (content hash mismatch)")
        for name in BODY_FIELDS:
            expected = item.get(f"{name}_sha256")
            if expected is None:
                continue
            report.payloads_checked += 1
            if isinstance(item.get(name), str):
                data = item[name].encode("utf-8")
            elif item.get(f"{name}_s3_uri"):
                try:
                    data = self._objects.get(self._objects.key_from_uri(item[f"{name}_s3_uri"]), verify=False)
                except ArtifactNotFoundError:
                    report.problems.append(f"record {record_id}: its offloaded {name} is missing")
                    continue
            else:
                report.problems.append(f"record {record_id}: its {name} was removed")
                continue
            if sha256_hex(data) != expected:
                report.problems.append(f"record {record_id}: its {name} was altered (sha256 mismatch)")

    def _check_artifact(self, uri: str, digest: str, record_id: str, report: VerifyReport) -> None:
        try:
            current = self._objects.head(self._objects.key_from_uri(uri))
        except ArtifactNotFoundError:
            report.problems.append(f"artifact {uri}: missing (stored by record {record_id})")
            return
        except IntegrityError as exc:
            report.problems.append(f"artifact {uri}: {exc}")
            return
        if current.sha256 != digest:
            report.problems.append(
                f"artifact {uri}: altered since record {record_id} stored it (sha256 mismatch)"
            )

    def _check_seal(
        self, seal: Mapping[str, Any], items: Iterable[Mapping[str, Any]], report: VerifyReport
    ) -> None:
        summary = {
            k: seal.get(k)
            for k in (
                "job_name",
                "sealed_at",
                "record_count",
                "records_digest",
                "artifact_count",
                "artifacts_digest",
            )
        }
        if _digest(summary) != seal.get("seal_hash"):
            report.problems.append("seal: its fields were altered (seal hash mismatch)")
        if seal.get("signature"):
            ok = self.signer is not None and self.signer.verify(
                bytes.fromhex(str(seal["seal_hash"])), base64.b64decode(str(seal["signature"]))
            )
            report.signature = "valid" if ok else "invalid"
            if not ok:
                report.problems.append("seal: the signature does not verify")
        try:
            manifest = json.loads(self._objects.get(self._objects.key_from_uri(str(seal["manifest_uri"]))))
        except (ArtifactNotFoundError, KeyError, ValueError):
            report.problems.append("seal: its manifest is missing or unreadable")
            return
        if _digest(manifest["records"]) != seal.get("records_digest") or _digest(
            manifest["artifacts"]
        ) != seal.get("artifacts_digest"):
            report.problems.append("seal: its manifest was altered (digest mismatch)")
            return
        current_records = [[item["record_id"], item.get("content_hash")] for item in items]
        report.problems += _differences("record", manifest["records"], current_records, str)
        manifest_key = self._objects.key_from_uri(str(seal["manifest_uri"]))
        current_artifacts = [
            pair for pair in self._artifact_checksums(str(seal["job_name"])) if pair[0] != manifest_key
        ]
        report.artifacts_checked += len(current_artifacts)
        report.problems += _differences(
            "artifact", manifest["artifacts"], current_artifacts, self._objects.uri
        )


def _differences(
    kind: str, sealed: Iterable[list[Any]], current: Iterable[list[Any]], name: Callable[[str], str]
) -> list[str]:
    """What was removed, added or altered between a sealed ``[id, digest]`` list and the current one."""
    before, now = dict(map(tuple, sealed)), dict(map(tuple, current))
    problems = []
    for key in sorted(before.keys() | now.keys()):
        if key not in now:
            problems.append(f"{kind} {name(key)}: removed after the job was sealed")
        elif key not in before:
            problems.append(f"{kind} {name(key)}: added after the job was sealed")
        elif before[key] != now[key]:
            problems.append(f"{kind} {name(key)}: altered after the job was sealed")
    return problems
