"""``autoninja demo``: the main job, end to end, on the local stack.

A scenario is data (``scenarios/*.json``): the request, the action-group events the supervisor's
collaborators send, in the order the supervisor calls them, and a recorded InvokeAgent trace. The demo

1. reserves a job name for the request (``job-{keyword}-{YYYYMMDD-HHMMSS}``);
2. runs every event through the **packaged** function it belongs to (the built zips, in a fresh
   interpreter, with the configuration Terraform deployed), rewritten to the new job and session;
3. replays the recorded agent trace, so the model invocations (prompts, responses, tokens, cost) are
   captured through the same code path as ``autoninja run``;
4. seals the job and prints its trail: the records, the artifacts, the totals per agent, and verify.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from autoninja_cli.trail import Trail, cli_errors, show_artifacts, show_records, show_summary, show_verify

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "friend-agent.json"


def load_scenario(path: Path) -> dict[str, Any]:
    """A scenario file: ``request``, ``steps`` (agent + event file) and ``trace`` (a recorded trace)."""
    scenario: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("request", "steps", "trace"):
        if key not in scenario:
            raise ValueError(f"scenario {path} has no {key!r}")
    return scenario


def retarget_event(
    event: Mapping[str, Any], *, job_name: str, session_id: str, request: str
) -> dict[str, Any]:
    """The event for this run: its ``job_name`` property, session and input text replaced."""
    fresh: dict[str, Any] = json.loads(json.dumps(event))
    fresh["sessionId"] = session_id
    fresh["inputText"] = request
    content = (fresh.get("requestBody") or {}).get("content") or {}
    for prop in [
        *fresh.get("parameters", []),
        *(content.get("application/json") or {}).get("properties", []),
    ]:
        if prop.get("name") == "job_name":
            prop["value"] = job_name
    return fresh


def retarget_trace(events: list[Any], *, session_id: str) -> list[Any]:
    """The recorded trace for this run's session (trace parts carry the Bedrock session id)."""
    text = json.dumps(events)
    for original in {part.get("trace", {}).get("sessionId") for part in events if isinstance(part, dict)}:
        if original:
            text = text.replace(json.dumps(original), json.dumps(session_id))
    fresh: list[Any] = json.loads(text)
    return fresh


@dataclass(frozen=True)
class StepResult:
    """One operation of the job: who ran it, how it ended, and how long it took."""

    agent: str
    api_path: str
    status: int
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class DemoRun:
    """What a scenario run did: the job, each step, the recorded trace and the seal."""

    job_name: str
    session_id: str
    steps: list[StepResult]
    trace: Any  # autoninja.trace.TraceSummary
    seal: dict[str, Any]
    seconds: float


def _step_result(
    agent: str, event: Mapping[str, Any], response: Mapping[str, Any], seconds: float
) -> StepResult:
    status = int(response.get("response", {}).get("httpStatusCode", 0))
    error = None
    if status >= 400:
        body = json.loads(response["response"]["responseBody"]["application/json"]["body"])
        error = f"{body.get('error')}: {body.get('message')}"
    return StepResult(agent, str(event["apiPath"]), status, error, seconds)


def run_scenario(
    trail: Trail,
    outputs: Mapping[str, Any],
    scenario: Mapping[str, Any],
    *,
    request: str | None = None,
    progress: TextIO | None = None,
) -> DemoRun:
    """Run a scenario's job through the packaged functions, replay its trace and seal the job.

    ``outputs`` are the local stack's Terraform outputs (the functions' deployed configuration);
    ``progress`` gets one line per step as it ends.
    """
    from autoninja.jobs import JobNameGenerator
    from autoninja.trace import replay
    from autoninja_cli.invoke import unpacked

    request = request or scenario["request"]
    job_name = JobNameGenerator(trail.log.table).new(request)
    session_id = f"demo-{uuid.uuid4().hex[:12]}"
    steps = scenario["steps"]

    def say(line: str) -> None:
        if progress is not None:
            print(line, file=progress, flush=True)

    say(f"\nJob {job_name}  (request: {request!r}, Bedrock session {session_id})\n")

    started = time.monotonic()
    results: list[StepResult] = []
    with contextlib.ExitStack() as stack:
        functions: dict[str, Any] = {}
        for number, step in enumerate(steps, start=1):
            agent = step["agent"]
            if agent not in functions:
                functions[agent] = stack.enter_context(unpacked(agent, outputs=outputs, warm=True))
            event = json.loads((REPO_ROOT / step["event"]).read_text(encoding="utf-8"))
            event = retarget_event(event, job_name=job_name, session_id=session_id, request=request)
            t0 = time.monotonic()
            response = functions[agent].invoke(event, logs=io.StringIO())
            result = _step_result(agent, event, response, time.monotonic() - t0)
            results.append(result)
            note = f"  {result.error[:110]}" if result.error else ""
            say(
                f"[{number:2d}/{len(steps)}] {agent:<21} {result.api_path:<26} {result.status}  "
                f"{result.seconds:5.1f}s{note}"
            )

    trace_events = json.loads((REPO_ROOT / scenario["trace"]).read_text(encoding="utf-8"))
    summary = replay(trail.log, retarget_trace(trace_events, session_id=session_id), job_name=job_name)
    say(f"\nAgent trace replayed: {summary}")
    seal = trail.sealer.seal(job_name)
    signed = "signed with the KMS seal key" if seal.get("signature") else "unsigned"
    say(f"Job sealed: {seal['record_count']} records, {seal['artifact_count']} artifacts, {signed}")
    return DemoRun(job_name, session_id, results, summary, seal, time.monotonic() - started)


@cli_errors
def run_demo(args: argparse.Namespace) -> int:
    from autoninja_cli.stack import terraform_outputs

    scenario = load_scenario(Path(args.scenario))
    trail = Trail.connect("local")
    run = run_scenario(trail, terraform_outputs(), scenario, request=args.request, progress=sys.stdout)
    ok = sum(1 for step in run.steps if step.ok)
    print(
        f"Ran {len(run.steps)} operations in {run.seconds:.1f}s: {ok} succeeded, "
        f"{len(run.steps) - ok} failed (each failure is an error record with its reason)\n"
    )
    job_name = run.job_name
    print(
        f"Inspect it: .venv/bin/autoninja trail show {job_name}   "
        "(the stack keeps running; `make down` stops it)\n"
    )
    print("Records")
    show_records(trail.log.job(job_name), sys.stdout)
    print("\nArtifacts")
    show_artifacts(trail, job_name, sys.stdout)
    print("\nTotals per agent")
    show_summary(trail, job_name, sys.stdout)
    print("\nVerify")
    return show_verify(trail.sealer.verify(job_name), sys.stdout)


def register(commands: Any) -> None:
    """Add ``demo`` to the ``autoninja`` parser."""
    parser = commands.add_parser(
        "demo",
        help="run a scenario's job end to end on the local stack and print its trail",
        description=__doc__,
        epilog='examples:\n  autoninja demo\n  autoninja demo --request "I want a recipe assistant agent" '
        "--scenario scenarios/friend-agent.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--request", help="the user's request (default: the scenario's)")
    parser.add_argument(
        "--scenario", default=str(DEFAULT_SCENARIO), help="a scenario file (scenarios/*.json)"
    )
    parser.set_defaults(run=run_demo)
