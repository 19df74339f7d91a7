"""Configuration from the environment, validated once at cold start.

Every setting is an environment variable with the ``AUTONINJA_`` prefix; Terraform sets them on each
function. Region and endpoint are never settings: the AWS SDK reads ``AWS_REGION`` and
``AWS_ENDPOINT_URL`` itself, so the same code talks to AWS, LocalStack or the embedded emulator.

Example::

    settings = Settings.from_env()          # raises ConfigurationError naming every bad variable
    settings.inference_table                 # "autoninja-local-inference-records"
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from autoninja.errors import ConfigurationError

if TYPE_CHECKING:
    from botocore.config import Config

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")

#: Items are kept well under DynamoDB's 400 KB item limit; bodies above this go to S3.
DEFAULT_PAYLOAD_THRESHOLD_BYTES = 100_000
MAX_PAYLOAD_THRESHOLD_BYTES = 350_000


class Settings(BaseSettings):
    """The layer's configuration, read from ``AUTONINJA_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="AUTONINJA_", frozen=True, extra="ignore")

    inference_table: str = Field(description="DynamoDB inference-records table name")
    artifact_bucket: str = Field(description="S3 bucket for artifacts, payloads and dead letters")
    kms_key_id: str = Field(min_length=1, description="CMK id, ARN or alias used for SSE-KMS writes")
    payload_threshold_bytes: int = Field(
        default=DEFAULT_PAYLOAD_THRESHOLD_BYTES,
        ge=1_024,
        le=MAX_PAYLOAD_THRESHOLD_BYTES,
        description="Item size above which prompt/response bodies are offloaded to S3",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    agent_name: str | None = Field(default=None, description="The agent a function serves")
    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = Field(default=5, ge=1, le=20, description="botocore total attempts per call")
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    signing_key_id: str | None = Field(default=None, description="Asymmetric KMS key for job seals")
    agent_resource_role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="IAM role Bedrock agents created by /configure-agent run as (when agent_config has none)",
    )
    deploy_stack_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$",
        description="Prefix every stack /deploy-stack creates carries (lets IAM scope the function to it)",
    )
    deploy_wait_seconds: int = Field(
        default=600, ge=10, le=840, description="How long /deploy-stack and /configure-agent wait for AWS"
    )
    agent_invoke_read_timeout_seconds: float = Field(
        default=120.0, gt=0, le=840, description="Read timeout of one InvokeAgent call in /test-deployment"
    )

    @field_validator("inference_table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        if not _TABLE_RE.match(value):
            raise ValueError("must be 3-255 characters of letters, digits, '_', '-' or '.'")
        return value

    @field_validator("artifact_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET_RE.match(value) or ".." in value:
            raise ValueError("must be a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-')")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from the environment, turning validation failures into one clear error."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"AUTONINJA_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid AutoNinja configuration: {problems}") from exc

    def botocore_config(self) -> Config:
        """botocore client config: the retry mode and budget, and timeouts, from these settings."""
        from botocore.config import Config

        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
        )
