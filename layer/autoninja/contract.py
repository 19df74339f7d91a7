"""Building blocks for the request models of AutoNinja's action-group operations.

Every operation is a POST whose body carries ``job_name``; Bedrock sends every property value as a
string, so structured fields are declared as JSON-in-a-string and parsed by pydantic, which reports a
bad value by field name.

Example::

    class AnalyzeComplexity(JobRequest):
        requirements: JsonObject | None = None      # '{"functional": [...]}' arrives as a string

    AnalyzeComplexity.model_validate({"job_name": "job-friend-20261203-192142", "requirements": "{}"})
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Json

from autoninja.errors import InvalidJobNameError
from autoninja.jobs import validate_job_name


def _job_name(value: str) -> str:
    try:
        return validate_job_name(value)
    except InvalidJobNameError as exc:  # pydantic reports ValueErrors per field
        raise ValueError(str(exc)) from None


#: A job name that parses (``job-{keyword}-{YYYYMMDD-HHMMSS}``).
JobNameField = Annotated[
    str,
    AfterValidator(_job_name),
    Field(description="The job this call belongs to, e.g. job-friend-20261203-192142"),
]

#: A JSON object sent as a string.
JsonObject = Json[dict[str, Any]]
#: A JSON array sent as a string.
JsonArray = Json[list[Any]]


class JobRequest(BaseModel):
    """The body every operation accepts: the job name, plus the operation's own fields."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    job_name: JobNameField
