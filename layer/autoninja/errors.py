"""One error hierarchy for the whole package.

Every error the layer raises is an :class:`AutoNinjaError`. Each subclass carries the HTTP status that a
Bedrock action-group response should use for it, so the persisted-action flow can answer an agent with
a well-formed 4xx or 5xx instead of an unhandled exception.

Example::

    try:
        store.finish(handle, response="...")
    except RecordNotFoundError as exc:
        print(exc.status_code)  # 404
"""

from __future__ import annotations


class AutoNinjaError(Exception):
    """Base class of every error raised by the ``autoninja`` package."""

    status_code: int = 500


class ConfigurationError(AutoNinjaError):
    """The environment does not describe a usable configuration (raised at cold start)."""


class InvalidInputError(AutoNinjaError):
    """The caller sent something that cannot be accepted; the message says what and why."""

    status_code = 400


class InvalidJobNameError(InvalidInputError):
    """A job name does not match ``job-{keyword}-{YYYYMMDD-HHMMSS}``."""


class InvalidKeyError(InvalidInputError):
    """An artifact key part (job, phase, agent or file name) is unsafe or unknown."""


class ForeignBucketError(InvalidKeyError):
    """An ``s3://`` URI points outside the project's artifact bucket."""


class ConversionError(InvalidInputError):
    """A model's raw output could not be converted into the artifact it should hold."""

    status_code = 422


class NotFoundError(AutoNinjaError):
    """Something that was asked for does not exist."""

    status_code = 404


class RecordNotFoundError(NotFoundError):
    """A record that should exist (to be finished or failed) is not in the table."""


class ArtifactNotFoundError(NotFoundError):
    """An artifact or payload object is not in the bucket."""


class RecordStateError(AutoNinjaError):
    """A record is not in the state a write expects (for example finished with other content)."""

    status_code = 409


class JobNameUnavailableError(AutoNinjaError):
    """No free job name could be reserved for a request within the allowed attempts."""

    status_code = 409


class IntegrityError(AutoNinjaError):
    """Stored content does not match its recorded sha256: it was altered or corrupted."""


class StorageUnavailableError(AutoNinjaError):
    """A storage service could not be reached after the configured retries."""

    status_code = 503


class UnsupportedOperationError(AutoNinjaError):
    """The target environment lacks an API this operation needs (for example the emulator)."""

    status_code = 501
