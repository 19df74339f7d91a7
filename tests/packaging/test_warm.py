"""A warm sandbox: one interpreter serving successive invocations, as Lambda reuses a warm sandbox.

Module state (cached clients, the Powertools logger and its keys) carries over between invocations in
Lambda; these tests prove nothing of one invocation leaks into the next, from the deployed zips.
"""

from __future__ import annotations

import io
import json
from typing import Any

from autoninja.models import Status
from autoninja.records import InferenceLog
from autoninja_cli.invoke import unpacked
from tests.packaging.conftest import for_test, session_records, unique_job, unique_session
from tests.support.functions import load_event

AGENT = "requirements-analyst"


def _log_jobs(text: str) -> set[str]:
    return {line["job_name"] for line in map(json.loads, text.splitlines()) if "job_name" in line}


def test_a_warm_sandbox_serves_each_invocation_on_its_own(
    stack: dict[str, Any], inference_log: InferenceLog
) -> None:
    # Given two jobs whose first step is the same operation
    jobs = [unique_job("warm"), unique_job("warm")]
    sessions = [unique_session(), unique_session()]
    event = load_event(AGENT, "extract-requirements")
    with unpacked(AGENT, outputs=stack, warm=True) as function:
        # When one warm sandbox serves both invocations
        logs = [io.StringIO(), io.StringIO()]
        statuses = [
            function.invoke(for_test(event, job_name=job, session_id=session), logs=log)["response"][
                "httpStatusCode"
            ]
            for job, session, log in zip(jobs, sessions, logs, strict=True)
        ]
        sandbox = function._sandbox
        assert sandbox is not None
        process = sandbox.process
        # (the same interpreter served both: it is still running, waiting for a third)
        assert process.poll() is None

    # Then both succeeded, each left exactly its own record, and each invocation's log lines carry
    # only its own job (the logger's keys did not leak from the first invocation into the second)
    assert statuses == [200, 200]
    for job, session, log in zip(jobs, sessions, logs, strict=True):
        (record,) = session_records(inference_log, session)
        assert (record.job_name, record.status) == (job, Status.SUCCESS)
        assert _log_jobs(log.getvalue()) == {job}
    # and leaving the context stopped the sandbox
    assert process.poll() is not None
