"""The vocabulary shared by every module: phases, agents, record statuses and the record model.

Example::

    Phase("requirements")                  # Phase.REQUIREMENTS
    Phase.for_agent("code-generator")      # Phase.CODE
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Phase(StrEnum):
    """The phases of a job; the second part of every artifact key."""

    REQUIREMENTS = "requirements"
    ARCHITECTURE = "architecture"
    CODE = "code"
    VALIDATION = "validation"
    DEPLOYMENT = "deployment"
    ORCHESTRATION = "orchestration"

    @classmethod
    def for_agent(cls, agent_name: str) -> Phase:
        """The phase an agent writes its artifacts to (the supervisor writes to ``orchestration``)."""
        return AGENT_PHASES.get(agent_name, cls.ORCHESTRATION)


class Agent(StrEnum):
    """AutoNinja's agents: the supervisor and its five collaborators."""

    SUPERVISOR = "supervisor"
    REQUIREMENTS_ANALYST = "requirements-analyst"
    SOLUTION_ARCHITECT = "solution-architect"
    CODE_GENERATOR = "code-generator"
    QUALITY_VALIDATOR = "quality-validator"
    DEPLOYMENT_MANAGER = "deployment-manager"


#: The supervisor's five collaborators, in the order it calls them.
COLLABORATORS: tuple[Agent, ...] = (
    Agent.REQUIREMENTS_ANALYST,
    Agent.SOLUTION_ARCHITECT,
    Agent.CODE_GENERATOR,
    Agent.QUALITY_VALIDATOR,
    Agent.DEPLOYMENT_MANAGER,
)

AGENT_PHASES: dict[str, Phase] = {
    Agent.REQUIREMENTS_ANALYST: Phase.REQUIREMENTS,
    Agent.SOLUTION_ARCHITECT: Phase.ARCHITECTURE,
    Agent.CODE_GENERATOR: Phase.CODE,
    Agent.QUALITY_VALIDATOR: Phase.VALIDATION,
    Agent.DEPLOYMENT_MANAGER: Phase.DEPLOYMENT,
    Agent.SUPERVISOR: Phase.ORCHESTRATION,
}


class Status(StrEnum):
    """The life of a record: created ``in_progress``, then exactly one of ``success`` or ``error``."""

    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    ERROR = "error"


class RecordKind(StrEnum):
    """What a record describes: an action-group call, or one model invocation from an agent trace."""

    ACTION = "action"
    MODEL_INVOCATION = "model_invocation"


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with microseconds and ``Z``, fixed width: ``2026-12-03T19:21:42.000123Z``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class InferenceRecord(BaseModel):
    """One record of the inference-records table, as a reader sees it (payloads rehydrated).

    Attribute names are the table's; users query these names.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    job_name: str
    record_id: str
    timestamp: str
    session_id: str | None = None
    agent_name: str | None = None
    action_name: str | None = None
    record_kind: RecordKind = RecordKind.ACTION
    status: Status
    prompt: str | None = None
    response: str | None = None
    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_used: int | None = None
    cost_estimate: Decimal | None = None
    duration_seconds: Decimal | None = None
    artifacts_s3_uri: list[str] = Field(default_factory=list)
    error_type: str | None = None
    error_message: str | None = None
    content_hash: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> InferenceRecord:
        """Build a record from a plain (already deserialised) table item."""
        return cls.model_validate(item)
