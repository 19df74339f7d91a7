"""Malformed events, run from the deployed zips: a 4xx envelope AND an error record, every time.

The committed invalid events (``tests/events/<agent>/invalid/*.json``: missing or bad job names,
unknown operations, fields that are not JSON or not of the right shape) plus a few malformations
built here (wrong property types, an envelope whose parts are of the wrong type). An event whose job
name is missing or invalid is filed under the day's ``job-unattributed-YYYYMMDD-000000``.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from autoninja.jobs import is_job_name
from autoninja.models import Status
from autoninja.records import InferenceLog
from tests.packaging.conftest import Invoke, for_test, session_records, unique_job, unique_session
from tests.packaging.test_operations import agents_with_events, operations
from tests.support.functions import event_names, event_properties, load_event

UNATTRIBUTED = re.compile(r"^job-unattributed-\d{8}-000000$")


def committed_invalid_events() -> list[tuple[str, str]]:
    return [(agent, name) for agent in agents_with_events() for name in event_names(agent, "invalid")]


def _wrong_property_type(event: dict[str, Any]) -> dict[str, Any]:
    """job_name sent as a number (Bedrock sends every value as a string)."""
    changed = copy.deepcopy(event)
    for prop in changed["requestBody"]["content"]["application/json"]["properties"]:
        if prop["name"] == "job_name":
            prop.update(type="integer", value=20261203)
    return changed


def _api_path_not_a_string(event: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["apiPath"] = 7
    return changed


def _request_body_not_an_object(event: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["requestBody"] = "this is not JSON"
    return changed


BUILT_HERE = {
    "job-name-not-a-string": _wrong_property_type,
    "api-path-not-a-string": _api_path_not_a_string,
    "request-body-not-an-object": _request_body_not_an_object,
}


def assert_rejected_and_recorded(
    invoke: Invoke, log: InferenceLog, agent: str, event: dict[str, Any], job: str | None
) -> None:
    # When the deployed handler runs from its zips
    response = invoke(agent, event)

    # Then the agent gets a 4xx envelope that echoes what could be echoed
    inner = response["response"]
    assert response["messageVersion"] == "1.0"
    assert 400 <= inner["httpStatusCode"] < 500, inner
    assert inner["actionGroup"] == event["actionGroup"]
    assert inner["httpMethod"] == event["httpMethod"]
    if isinstance(event["apiPath"], str):
        assert inner["apiPath"] == event["apiPath"]
    body = json.loads(inner["responseBody"]["application/json"]["body"])
    assert body["error"] and body["message"]
    # and the table holds an error record of the raw event, filed under the job or unattributed
    records = session_records(log, event["sessionId"])
    assert len(records) == 1, records
    record = records[0]
    assert record.status == Status.ERROR
    assert record.agent_name == agent
    assert record.error_type and record.error_message
    assert json.loads(record.prompt or "null") == event
    if job is not None:
        assert record.job_name == job
    else:
        assert UNATTRIBUTED.match(record.job_name), record.job_name


@pytest.mark.parametrize(
    ("agent", "name"), committed_invalid_events(), ids=[f"{a}/{n}" for a, n in committed_invalid_events()]
)
def test_committed_invalid_event_gets_a_4xx_and_an_error_record(
    agent: str, name: str, invoke: Invoke, inference_log: InferenceLog
) -> None:
    # Given the committed invalid event, with this test's job (where its job name is valid) and session
    original = load_event(agent, name)
    valid_job = is_job_name(event_properties(original).get("job_name", ""))
    job = unique_job("bad") if valid_job else None
    event = for_test(original, job_name=job, session_id=unique_session())

    assert_rejected_and_recorded(invoke, inference_log, agent, event, job)


@pytest.mark.parametrize("malformation", list(BUILT_HERE.values()), ids=list(BUILT_HERE))
@pytest.mark.parametrize("agent", agents_with_events())
def test_malformed_envelope_gets_a_4xx_and_an_error_record(
    agent: str, malformation: Any, invoke: Invoke, inference_log: InferenceLog
) -> None:
    # Given one of the agent's valid events, broken in a way Bedrock never would
    job = unique_job("mal")
    valid = for_test(load_event(agent, operations(agent)[0]), job_name=job, session_id=unique_session())
    event = malformation(valid)
    # Without a job name it can read (a number, or no body at all) the record is unattributed.
    filed_under = None if malformation in (_wrong_property_type, _request_body_not_an_object) else job

    assert_rejected_and_recorded(invoke, inference_log, agent, event, filed_under)
