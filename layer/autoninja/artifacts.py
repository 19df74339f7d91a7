"""S3 objects, the artifact key layout and its validation.

Two levels live here:

- :class:`ObjectStore` is the port for raw objects in the project's bucket: put, get, head, list, delete
  and purge by key or prefix, with no layout rules. :class:`S3ObjectStore` is the adapter (every put is
  SSE-KMS with the project's CMK and carries a SHA256 checksum S3 verifies and stores);
  :class:`InMemoryObjectStore` is the fake with the same behaviour, versions included.
- :class:`ArtifactStore` is the service agents' artifacts go through. It owns the key layout
  ``{job_name}/{phase}/{agent_name}/{filename}`` and validates every part before anything is written:
  the job name must parse, the phase must be a known :class:`~autoninja.models.Phase`, and the agent and
  file names must be short ASCII from a whitelist. That whitelist is what rejects ``..``, ``/``, ``\\``,
  control characters, whitespace and look-alike Unicode letters.

Reserved prefixes, which no artifact key can produce:

- ``{job_name}/_payloads/...`` (:data:`PAYLOAD_SEGMENT`): large record bodies offloaded from DynamoDB;
- ``_dead-letters/...`` (:data:`DEAD_LETTER_PREFIX`): records that could not be written to DynamoDB.

Example::

    store = ArtifactStore(S3ObjectStore.from_settings(Settings.from_env()))
    stored = store.put(job, Phase.REQUIREMENTS, "requirements-analyst", "requirements.json", {"goal": "x"})
    stored.uri                       # "s3://bucket/job-friend-20261203-192142/requirements/...json"
    store.get_json(job, "requirements", "requirements-analyst", "requirements.json")  # {"goal": "x"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import boto3
from botocore.exceptions import ClientError, FlexibleChecksumError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from autoninja.errors import (
    ArtifactNotFoundError,
    AutoNinjaError,
    ConfigurationError,
    ConversionError,
    ForeignBucketError,
    IntegrityError,
    InvalidKeyError,
    StorageUnavailableError,
)
from autoninja.jobs import validate_job_name
from autoninja.models import Phase

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from autoninja.settings import Settings

#: The second key segment under which large record bodies live: ``{job_name}/_payloads/...``.
PAYLOAD_SEGMENT = "_payloads"
#: The bucket-level prefix of dead-lettered records: ``_dead-letters/...``.
DEAD_LETTER_PREFIX = "_dead-letters/"

MAX_AGENT_NAME_LENGTH = 64
MAX_FILENAME_BYTES = 255
#: ``delete_objects`` accepts at most this many keys per call.
DELETE_BATCH_SIZE = 1000

_AGENT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*", re.ASCII)
_FILENAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_S3_SCHEME = "s3://"

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_UNAVAILABLE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"}
)

_TEXT_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".py": "text/x-python",
    ".js": "text/javascript",
    ".ts": "text/plain",
    ".html": "text/html",
    ".csv": "text/csv",
    ".log": "text/plain",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".xml": "application/xml",
    ".toml": "application/toml",
}
_BINARY_TYPES: dict[str, str] = {".zip": "application/zip", ".gz": "application/gzip"}
_DEFAULT_TEXT_TYPE = "text/plain; charset=utf-8"
_DEFAULT_BINARY_TYPE = "application/octet-stream"

#: What :meth:`ArtifactStore.put` accepts: raw bytes, text, or a JSON-serialisable mapping or list.
ArtifactContent = bytes | str | Mapping[str, Any] | list[Any]


@dataclass(frozen=True)
class StoredObject:
    """An object as stored: key, ``s3://`` URI, size, hex sha256 of the body, and what S3 reported.

    Why: a record keeps the URI, size and sha256 of what it points to, so a reader can verify the body.

    Example::

        StoredObject(key="job-a-20261203-192142/code/code-generator/app.py", uri="s3://b/...",
                     size=12, sha256="9f86d0...", version_id="3HL4k...", kms_key_id="arn:aws:kms:...")
    """

    key: str
    uri: str
    size: int
    sha256: str
    version_id: str | None = None
    kms_key_id: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """One entry of a listing: key, URI, size, and the version and time where the backend gives them.

    Example::

        ObjectInfo(key="job-a-20261203-192142/code/code-generator/app.py", uri="s3://b/...", size=12)
    """

    key: str
    uri: str
    size: int
    version_id: str | None = None
    last_modified: datetime | None = None


class ObjectStore(Protocol):
    """The port for raw objects in the project's bucket: raw keys, no layout rules.

    Why: the artifact service, the payload offloader and the dead-letter writer share one small surface
    that the S3 adapter and the in-memory fake both implement, so the same contract tests run on both.

    Example::

        stored = objects.put("job-a-20261203-192142/_payloads/x.json", b"{}", content_type="application/json")
        objects.get(stored.key)    # b"{}"
    """

    bucket: str

    def put(
        self, key: str, body: bytes, *, content_type: str = _DEFAULT_BINARY_TYPE, sha256: str | None = None
    ) -> StoredObject:
        """Store ``body`` under ``key`` (a new version if it exists); encrypted and checksummed.

        ``sha256`` is the body's hex digest when the caller already computed it (no second hash).
        """
        ...

    def get(self, key: str, *, verify: bool = True) -> bytes:
        """The latest body of ``key``; :class:`ArtifactNotFoundError` if absent.

        ``verify=False`` skips the transport checksum for callers that check a digest of their own.
        """
        ...

    def head(self, key: str) -> StoredObject:
        """Size, sha256 (from the stored SHA256 checksum) and KMS key of ``key``, without the body."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every current object under ``prefix``, lazily, across every page."""
        ...

    def delete(self, key: str) -> int:
        """Delete every version and delete marker of exactly ``key``; the number removed."""
        ...

    def purge(self, prefix: str) -> int:
        """Delete every version and delete marker under a non-empty ``prefix``; the number removed."""
        ...

    def uri(self, key: str) -> str:
        """``s3://{bucket}/{key}``."""
        ...

    def key_from_uri(self, uri: str) -> str:
        """The key of an ``s3://`` URI of this bucket; :class:`ForeignBucketError` otherwise."""
        ...


def _s3_uri(bucket: str, key: str) -> str:
    return f"{_S3_SCHEME}{bucket}/{key}"


def _key_from_uri(bucket: str, uri: str) -> str:
    if not isinstance(uri, str) or not uri.startswith(_S3_SCHEME):
        raise ForeignBucketError(f"URI {uri!r} is not an s3:// URI of bucket {bucket!r}")
    uri_bucket, _, key = uri[len(_S3_SCHEME) :].partition("/")
    if uri_bucket != bucket:
        raise ForeignBucketError(
            f"URI {uri!r} points at bucket {uri_bucket!r}; only the project's bucket {bucket!r} is read"
        )
    if not key:
        raise InvalidKeyError(f"URI {uri!r} names no object key")
    return key


def _require_prefix(prefix: str) -> str:
    if not prefix:
        raise InvalidKeyError("purge needs a non-empty prefix; an empty one would empty the whole bucket")
    return prefix


def _hex_from_b64(checksum: str) -> str | None:
    """The hex form of a base64 full-object SHA256 checksum, or None if it is not one."""
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == hashlib.sha256().digest_size else None


class S3ObjectStore:
    """The S3 adapter of :class:`ObjectStore`: SSE-KMS with the project's CMK and SHA256 checksums.

    Why: the bucket policy denies puts without SSE-KMS, and a stored SHA256 checksum lets anyone verify a
    body against the sha256 a record keeps. The digest is computed once here and sent as
    ``ChecksumSHA256``, so botocore does not hash the body again and S3 rejects a corrupted upload.
    The client is injected, or built lazily on first use from the environment (``AWS_REGION``,
    ``AWS_ENDPOINT_URL``); ``ClientError`` codes are translated into this package's errors.

    Example::

        objects = S3ObjectStore("autoninja-artifacts", "arn:aws:kms:...:key/...", client=boto3.client("s3"))
        objects.put("job-a-20261203-192142/code/code-generator/app.py", b"print(1)").sha256
    """

    def __init__(
        self,
        bucket: str,
        kms_key_id: str,
        client: S3Client | None = None,
        config: Config | None = None,
    ) -> None:
        if not bucket:
            raise ConfigurationError("S3ObjectStore needs a bucket name")
        if not kms_key_id:
            raise ConfigurationError("S3ObjectStore needs a KMS key id for SSE-KMS writes")
        self.bucket = bucket
        self.kms_key_id = kms_key_id
        self._client = client
        self._config = config
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, client: S3Client | None = None) -> S3ObjectStore:
        """An adapter for the configured bucket and CMK, with the configured retries and timeouts.

        Example::

            objects = S3ObjectStore.from_settings(Settings.from_env())
        """
        return cls(
            settings.artifact_bucket,
            settings.kms_key_id,
            client=client,
            config=settings.botocore_config(),
        )

    @property
    def client(self) -> S3Client:
        """The S3 client: the injected one, or one built on first use (never at import time)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    # Validate response checksums when asked (ChecksumMode), not on every get.
                    from botocore.config import Config as ClientConfig

                    only_when_asked = ClientConfig(response_checksum_validation="when_required")
                    config = self._config.merge(only_when_asked) if self._config else only_when_asked
                    self._client = boto3.client("s3", config=config)
        return self._client

    @contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        """Translate S3 failures about ``key`` into this package's errors; re-raise codes not expected."""
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND_CODES:
                raise ArtifactNotFoundError(f"object {self.uri(key)} does not exist") from exc
            if code == "NoSuchBucket":
                raise ConfigurationError(f"bucket {self.bucket!r} does not exist") from exc
            if code in _UNAVAILABLE_CODES:
                raise StorageUnavailableError(f"S3 is unavailable ({code}) for {self.uri(key)}") from exc
            raise
        except FlexibleChecksumError as exc:
            raise IntegrityError(f"object {self.uri(key)} does not match its stored checksum") from exc
        except (HTTPClientError, BotocoreConnectionError) as exc:
            raise StorageUnavailableError(
                f"S3 could not be reached for {self.uri(key)}: {type(exc).__name__}"
            ) from exc

    def put(
        self, key: str, body: bytes, *, content_type: str = _DEFAULT_BINARY_TYPE, sha256: str | None = None
    ) -> StoredObject:
        """Store ``body`` under ``key`` with SSE-KMS and a SHA256 checksum.

        Example::

            objects.put("job-a-20261203-192142/_payloads/r.json", b"{}").kms_key_id   # the CMK ARN
        """
        digest = bytes.fromhex(sha256) if sha256 else hashlib.sha256(body).digest()
        with self._translated(key):
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.kms_key_id,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
            )
        return StoredObject(
            key=key,
            uri=self.uri(key),
            size=len(body),
            sha256=digest.hex(),
            version_id=response.get("VersionId"),
            kms_key_id=response.get("SSEKMSKeyId"),
        )

    def get(self, key: str, *, verify: bool = True) -> bytes:
        """The latest body of ``key``, checked against its stored checksum by botocore unless
        ``verify=False`` (for callers that check a digest of their own, such as payload rehydration).

        Raises :class:`ArtifactNotFoundError` if absent and :class:`IntegrityError` on a checksum mismatch.

        Example::

            objects.get("job-a-20261203-192142/code/code-generator/app.py")   # b"print(1)"
        """
        with self._translated(key):
            if verify:
                response = self.client.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            else:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()

    def head(self, key: str) -> StoredObject:
        """Size, sha256 and KMS key of ``key`` without reading the body.

        The sha256 comes from the stored SHA256 checksum; an object stored without one (not written by
        this adapter) is read and hashed instead.

        Example::

            objects.head(key).sha256 == hashlib.sha256(objects.get(key)).hexdigest()   # True
        """
        with self._translated(key):
            response = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        stored_checksum = response.get("ChecksumSHA256")
        sha256 = _hex_from_b64(stored_checksum) if stored_checksum else None
        if sha256 is None:
            sha256 = hashlib.sha256(self.get(key)).hexdigest()
        return StoredObject(
            key=key,
            uri=self.uri(key),
            size=response["ContentLength"],
            sha256=sha256,
            version_id=response.get("VersionId"),
            kms_key_id=response.get("SSEKMSKeyId"),
        )

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every current object under ``prefix``, page by page, lazily.

        Example::

            [info.key for info in objects.list("job-a-20261203-192142/")]
        """
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translated(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        uri=self.uri(item["Key"]),
                        size=item.get("Size", 0),
                        last_modified=item.get("LastModified"),
                    )

    def delete(self, key: str) -> int:
        """Delete every version and delete marker of exactly ``key`` (not of keys it prefixes).

        Example::

            objects.delete("job-a-20261203-192142/code/code-generator/app.py")   # 2 after two puts
        """
        return self._delete_versions(key, exact=True)

    def purge(self, prefix: str) -> int:
        """Delete every version and delete marker under ``prefix``, in batches of 1000.

        Example::

            objects.purge("job-a-20261203-192142/")   # every object of the job, every version
        """
        return self._delete_versions(_require_prefix(prefix), exact=False)

    def _versions(self, prefix: str, *, exact: bool) -> Iterator[ObjectIdentifierTypeDef]:
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if exact and entry["Key"] != prefix:
                    continue
                identifier: ObjectIdentifierTypeDef = {"Key": entry["Key"]}
                if "VersionId" in entry:
                    identifier["VersionId"] = entry["VersionId"]
                yield identifier

    def _delete_versions(self, prefix: str, *, exact: bool) -> int:
        # List everything first, then delete: deleting while paginating would move the listing's
        # markers under its feet (some backends then end the listing early and leave versions behind).
        with self._translated(prefix):
            identifiers = list(self._versions(prefix, exact=exact))
            for start in range(0, len(identifiers), DELETE_BATCH_SIZE):
                self._delete_batch(identifiers[start : start + DELETE_BATCH_SIZE], prefix)
        return len(identifiers)

    def _delete_batch(self, batch: Sequence[ObjectIdentifierTypeDef], prefix: str) -> None:
        response = self.client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": list(batch), "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            codes = sorted({error.get("Code", "?") for error in errors})
            error_class = StorageUnavailableError if set(codes) <= _UNAVAILABLE_CODES else AutoNinjaError
            raise error_class(
                f"{len(errors)} of {len(batch)} object versions under {self.uri(prefix)} were not "
                f"deleted (codes: {', '.join(codes)})"
            )

    def uri(self, key: str) -> str:
        """``s3://{bucket}/{key}``."""
        return _s3_uri(self.bucket, key)

    def key_from_uri(self, uri: str) -> str:
        """The key of an ``s3://`` URI of this bucket; :class:`ForeignBucketError` for any other."""
        return _key_from_uri(self.bucket, uri)


@dataclass
class _Version:
    version_id: str
    body: bytes | None  # None: a delete marker
    content_type: str
    kms_key_id: str | None
    last_modified: datetime


class InMemoryObjectStore:
    """The in-memory fake of :class:`ObjectStore`, with versioning as in a versioned bucket.

    Why: fast unit tests of everything built on the port; the contract tests hold it to the S3 adapter's
    behaviour. Every put is a new version; :meth:`add_delete_marker` does what a plain S3 ``DeleteObject``
    does on a versioned bucket, so purge can be tested to remove markers too. Thread-safe.

    Example::

        objects = InMemoryObjectStore()
        objects.put("job-a-20261203-192142/code/code-generator/a.py", b"1")
        objects.put("job-a-20261203-192142/code/code-generator/a.py", b"2")
        objects.purge("job-a-20261203-192142/")    # 2
    """

    def __init__(
        self, bucket: str = "autoninja-fake-bucket", kms_key_id: str = "alias/autoninja-fake"
    ) -> None:
        self.bucket = bucket
        self.kms_key_id = kms_key_id
        self._lock = threading.Lock()
        self._objects: dict[str, list[_Version]] = {}
        self._counter = 0

    def _next_version(self) -> str:
        self._counter += 1
        return f"v{self._counter:012d}"

    def _latest(self, key: str) -> _Version:
        versions = self._objects.get(key)
        if not versions or versions[-1].body is None:
            raise ArtifactNotFoundError(f"object {self.uri(key)} does not exist")
        return versions[-1]

    def put(
        self, key: str, body: bytes, *, content_type: str = _DEFAULT_BINARY_TYPE, sha256: str | None = None
    ) -> StoredObject:
        """Store a new version of ``key``."""
        if not key:
            raise InvalidKeyError("object key must not be empty")
        body = bytes(body)
        with self._lock:
            version = _Version(self._next_version(), body, content_type, self.kms_key_id, datetime.now(UTC))
            self._objects.setdefault(key, []).append(version)
        return StoredObject(
            key=key,
            uri=self.uri(key),
            size=len(body),
            sha256=sha256 or hashlib.sha256(body).hexdigest(),
            version_id=version.version_id,
            kms_key_id=version.kms_key_id,
        )

    def get(self, key: str, *, verify: bool = True) -> bytes:
        """The latest body of ``key``; :class:`ArtifactNotFoundError` if absent or deleted."""
        with self._lock:
            return self._latest(key).body or b""

    def head(self, key: str) -> StoredObject:
        """Size, sha256 and KMS key of the latest version of ``key``."""
        with self._lock:
            version = self._latest(key)
        body = version.body or b""
        return StoredObject(
            key=key,
            uri=self.uri(key),
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            version_id=version.version_id,
            kms_key_id=version.kms_key_id,
        )

    def content_type(self, key: str) -> str:
        """The content type the latest version of ``key`` was stored with (a test helper)."""
        with self._lock:
            return self._latest(key).content_type

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every current object under ``prefix`` in key order (as S3 lists them)."""
        with self._lock:
            current = [
                (key, versions[-1])
                for key, versions in self._objects.items()
                if key.startswith(prefix) and versions and versions[-1].body is not None
            ]
        for key, version in sorted(current, key=lambda item: item[0]):
            yield ObjectInfo(
                key=key,
                uri=self.uri(key),
                size=len(version.body or b""),
                last_modified=version.last_modified,
            )

    def add_delete_marker(self, key: str) -> None:
        """Hide ``key`` behind a delete marker, keeping its versions (S3 ``DeleteObject`` when versioned)."""
        with self._lock:
            marker = _Version(self._next_version(), None, "", None, datetime.now(UTC))
            self._objects.setdefault(key, []).append(marker)

    def delete(self, key: str) -> int:
        """Remove every version and delete marker of exactly ``key``; the number removed."""
        with self._lock:
            return len(self._objects.pop(key, []))

    def purge(self, prefix: str) -> int:
        """Remove every version and delete marker under a non-empty ``prefix``; the number removed."""
        _require_prefix(prefix)
        with self._lock:
            keys = [key for key in self._objects if key.startswith(prefix)]
            return sum(len(self._objects.pop(key)) for key in keys)

    def version_count(self, prefix: str = "") -> int:
        """How many versions and delete markers are held under ``prefix`` (a test helper)."""
        with self._lock:
            return sum(len(v) for key, v in self._objects.items() if key.startswith(prefix))

    def uri(self, key: str) -> str:
        """``s3://{bucket}/{key}``."""
        return _s3_uri(self.bucket, key)

    def key_from_uri(self, uri: str) -> str:
        """The key of an ``s3://`` URI of this bucket; :class:`ForeignBucketError` for any other."""
        return _key_from_uri(self.bucket, uri)


class ArtifactKey(NamedTuple):
    """The four validated parts of an artifact key; :attr:`key` joins them into the key text.

    Example::

        parse_artifact_key("job-a-20261203-192142/code/code-generator/app.py").phase   # Phase.CODE
    """

    job_name: str
    phase: Phase
    agent_name: str
    filename: str

    @property
    def key(self) -> str:
        """``{job_name}/{phase}/{agent_name}/{filename}``."""
        return f"{self.job_name}/{self.phase.value}/{self.agent_name}/{self.filename}"


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unsafe_reason(value: str) -> str | None:
    """Why a name part is unsafe in a key, for the checks every part shares; None if none applies."""
    checks = (
        ("/" in value, "contains '/'"),
        ("\\" in value, "contains '\\'"),
        (".." in value, "contains '..'"),
        (any(unicodedata.category(char) == "Cc" for char in value), "contains a control character"),
        (any(char.isspace() for char in value), "contains whitespace"),
        (not value.isascii(), "contains non-ASCII characters (look-alike letters are not accepted)"),
    )
    return next((reason for failed, reason in checks if failed), None)


def validate_phase(phase: Phase | str) -> Phase:
    """The :class:`Phase` for ``phase``, or :class:`InvalidKeyError` naming the known phases.

    Example::

        validate_phase("code")     # Phase.CODE
        validate_phase("../etc")   # InvalidKeyError
    """
    try:
        return Phase(phase)
    except ValueError as exc:
        known = ", ".join(member.value for member in Phase)
        raise InvalidKeyError(f"phase {_shown(str(phase))} is not a known phase ({known})") from exc


def validate_agent_name(agent_name: str) -> str:
    """Return ``agent_name`` if safe as a key part: ``[a-z0-9][a-z0-9-]*``, at most 64 characters.

    Example::

        validate_agent_name("code-generator")   # "code-generator"
        validate_agent_name("Code Generator")   # InvalidKeyError: contains whitespace
    """
    if not isinstance(agent_name, str) or not agent_name:
        raise InvalidKeyError("agent name must be a non-empty string")
    reason = _unsafe_reason(agent_name)
    if reason is None and len(agent_name) > MAX_AGENT_NAME_LENGTH:
        reason = f"is {len(agent_name)} characters long; the limit is {MAX_AGENT_NAME_LENGTH}"
    if reason is None and not _AGENT_NAME_RE.fullmatch(agent_name):
        reason = "must be lower-case letters, digits and '-', starting with a letter or digit"
    if reason is not None:
        raise InvalidKeyError(f"agent name {_shown(agent_name)} is not safe: {reason}")
    return agent_name


def validate_filename(filename: str) -> str:
    """Return ``filename`` if safe as the last key part: ASCII ``[A-Za-z0-9][A-Za-z0-9._-]*``, no
    ``..``, at most 255 bytes.

    Why: a file name from a model or an agent must never climb out of its folder or smuggle in a
    separator, a control character or a look-alike letter.

    Example::

        validate_filename("requirements.json")   # "requirements.json"
        validate_filename("../../etc/passwd")    # InvalidKeyError: contains '/'
    """
    if not isinstance(filename, str) or not filename:
        raise InvalidKeyError("filename must be a non-empty string")
    reason = _unsafe_reason(filename)
    size = len(filename.encode("utf-8"))
    if reason is None and size > MAX_FILENAME_BYTES:
        reason = f"is {size} bytes long; the limit is {MAX_FILENAME_BYTES}"
    if reason is None and not _FILENAME_RE.fullmatch(filename):
        reason = "must be letters, digits, '.', '_' and '-', starting with a letter or digit"
    if reason is not None:
        raise InvalidKeyError(f"filename {_shown(filename)} is not safe: {reason}")
    return filename


def artifact_key(job_name: str, phase: Phase | str, agent_name: str, filename: str) -> str:
    """The key ``{job_name}/{phase}/{agent_name}/{filename}``, every part validated first.

    Why: the one place that builds artifact keys, so an unsafe part never reaches the bucket. Raises
    :class:`InvalidJobNameError` for the job part and :class:`InvalidKeyError` for the others (both are
    :class:`InvalidInputError`), each message naming the part and the reason.

    Example::

        artifact_key("job-friend-20261203-192142", "requirements", "requirements-analyst", "req.json")
        # "job-friend-20261203-192142/requirements/requirements-analyst/req.json"
    """
    return ArtifactKey(
        validate_job_name(job_name),
        validate_phase(phase),
        validate_agent_name(agent_name),
        validate_filename(filename),
    ).key


def parse_artifact_key(key: str) -> ArtifactKey:
    """Split and validate an artifact key; :class:`InvalidKeyError` if it is not one.

    Example::

        parse_artifact_key("job-a-20261203-192142/code/code-generator/app.py").filename   # "app.py"
        parse_artifact_key("job-a-20261203-192142/_payloads/x")                            # InvalidKeyError
    """
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) != 4:
        raise InvalidKeyError(
            f"key {_shown(str(key))} is not an artifact key "
            "{job_name}/{phase}/{agent_name}/{filename}"
        )
    job_name, phase, agent_name, filename = parts
    return ArtifactKey(
        validate_job_name(job_name),
        validate_phase(phase),
        validate_agent_name(agent_name),
        validate_filename(filename),
    )


def job_prefix(job_name: str) -> str:
    """``{job_name}/``, the prefix of everything a job stores, after validating the name.

    Example::

        job_prefix("job-friend-20261203-192142")   # "job-friend-20261203-192142/"
    """
    return f"{validate_job_name(job_name)}/"


def _content_type_for(filename: str, *, text: bool) -> str:
    dot = filename.rfind(".")
    extension = filename[dot:].lower() if dot > 0 else ""
    if extension in _TEXT_TYPES:
        kind = _TEXT_TYPES[extension]
        return f"{kind}; charset=utf-8" if text else kind
    if extension in _BINARY_TYPES:
        return _BINARY_TYPES[extension]
    return _DEFAULT_TEXT_TYPE if text else _DEFAULT_BINARY_TYPE


def _encode(content: ArtifactContent, filename: str) -> tuple[bytes, str]:
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content), _content_type_for(filename, text=False)
    if isinstance(content, str):
        return content.encode("utf-8"), _content_type_for(filename, text=True)
    if isinstance(content, (Mapping, list)):
        text = json.dumps(content, indent=2, ensure_ascii=False, default=str)
        return text.encode("utf-8"), "application/json"
    raise TypeError(f"artifact content must be bytes, str, a mapping or a list, not {type(content).__name__}")


class ArtifactStore:
    """Agents' artifacts in the project's bucket, under ``{job_name}/{phase}/{agent_name}/{filename}``.

    Why: the service every function stores its raw and converted outputs through. It validates each key
    part before writing, serialises text and JSON one way, reads ``s3://`` URIs of its own bucket only, and
    purges a job with every version. Backed by any :class:`ObjectStore`.

    Example::

        artifacts = ArtifactStore(InMemoryObjectStore())
        artifacts.put("job-friend-20261203-192142", "code", "code-generator", "app.py", "print('hi')")
        artifacts.get_text("job-friend-20261203-192142", "code", "code-generator", "app.py")  # "print('hi')"
    """

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    @classmethod
    def from_settings(cls, settings: Settings, client: S3Client | None = None) -> ArtifactStore:
        """An artifact store on the configured bucket and CMK.

        Example::

            artifacts = ArtifactStore.from_settings(Settings.from_env())
        """
        return cls(S3ObjectStore.from_settings(settings, client=client))

    def put(
        self,
        job_name: str,
        phase: Phase | str,
        agent_name: str,
        filename: str,
        content: ArtifactContent,
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        """Validate the key, serialise ``content`` and store it; a new version if the file exists.

        ``bytes`` are stored as they are; ``str`` as UTF-8 (content type by extension, else text/plain);
        a mapping or list as JSON (indent 2, non-ASCII kept, ``Decimal``/``datetime`` via ``str``).

        Example::

            artifacts.put(job, "requirements", "requirements-analyst", "requirements.json", {"a": 1}).uri
        """
        key = artifact_key(job_name, phase, agent_name, filename)
        body, default_type = _encode(content, filename)
        return self.objects.put(key, body, content_type=content_type or default_type)

    def get(self, job_name: str, phase: Phase | str, agent_name: str, filename: str) -> bytes:
        """The body of an artifact; :class:`ArtifactNotFoundError` if there is none.

        Example::

            artifacts.get(job, "code", "code-generator", "app.py")   # b"print('hi')"
        """
        return self.objects.get(artifact_key(job_name, phase, agent_name, filename))

    def get_text(self, job_name: str, phase: Phase | str, agent_name: str, filename: str) -> str:
        """An artifact decoded as UTF-8; :class:`ConversionError` if it is not UTF-8 text.

        Example::

            artifacts.get_text(job, "code", "code-generator", "app.py")   # "print('hi')"
        """
        return _decode(self.get(job_name, phase, agent_name, filename), filename)

    def get_json(self, job_name: str, phase: Phase | str, agent_name: str, filename: str) -> Any:
        """An artifact parsed as JSON; :class:`ConversionError` if it is not JSON.

        Example::

            artifacts.get_json(job, "requirements", "requirements-analyst", "requirements.json")  # {"a": 1}
        """
        text = self.get_text(job_name, phase, agent_name, filename)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConversionError(f"artifact {filename!r} is not valid JSON: {exc.msg}") from exc

    def get_uri(self, uri: str) -> bytes:
        """The body of an artifact named by its ``s3://`` URI.

        Only the project's bucket is read (:class:`ForeignBucketError` otherwise) and the key must be a
        valid artifact key (:class:`InvalidKeyError` / :class:`InvalidJobNameError` otherwise).

        Example::

            artifacts.get_uri(stored.uri)   # the bytes that were stored
        """
        key = self.objects.key_from_uri(uri)
        return self.objects.get(parse_artifact_key(key).key)

    def list(
        self, job_name: str, phase: Phase | str | None = None, agent_name: str | None = None
    ) -> Iterator[ObjectInfo]:
        """A job's artifacts, optionally of one phase and/or agent, across every page, lazily.

        Only artifact keys are listed: payload bodies under ``_payloads`` and anything else that is not
        ``{job}/{phase}/{agent}/{file}`` are skipped.

        Example::

            [info.key for info in artifacts.list(job, phase="code")]
        """
        prefix = job_prefix(job_name)
        wanted_phase = validate_phase(phase) if phase is not None else None
        wanted_agent = validate_agent_name(agent_name) if agent_name is not None else None
        if wanted_phase is not None:
            prefix += f"{wanted_phase.value}/"
            if wanted_agent is not None:
                prefix += f"{wanted_agent}/"
        for info in self.objects.list(prefix):
            segments = info.key.split("/")
            if len(segments) > 1 and segments[1] == PAYLOAD_SEGMENT:
                continue
            try:
                parsed = parse_artifact_key(info.key)
            except InvalidKeyError:
                continue
            if wanted_agent is None or parsed.agent_name == wanted_agent:
                yield info

    def exists(self, job_name: str, phase: Phase | str, agent_name: str, filename: str) -> bool:
        """True if the artifact is stored (and not deleted).

        Example::

            artifacts.exists(job, "code", "code-generator", "app.py")   # True
        """
        try:
            self.objects.head(artifact_key(job_name, phase, agent_name, filename))
        except ArtifactNotFoundError:
            return False
        return True

    def purge(self, job_name: str) -> int:
        """Delete everything a job stored (artifacts and payloads), every version; the number removed.

        Example::

            artifacts.purge("job-friend-20261203-192142")   # 7
        """
        return self.objects.purge(job_prefix(job_name))


def _decode(body: bytes, filename: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConversionError(f"artifact {filename!r} is not UTF-8 text") from exc
