"""``autoninja run``: ask a deployed AutoNinja supervisor agent for something, and record its trace.

The real model prompts and responses of a Bedrock agent exist only in the InvokeAgent trace, so
``run`` calls ``bedrock-agent-runtime invoke_agent`` with ``enableTrace=True`` and hands every stream
event to the layer's :class:`autoninja.trace.TraceRecorder` as it arrives: each model invocation is a
record the moment its output is in, with its full prompt, response, tokens and cost. The agent's
answer is printed as its chunks arrive; ``--save FILE`` also writes the stream as JSON lines, which
``autoninja trail replay JOB FILE`` records again identically (nothing is added twice).

The boto3 call is the only part that needs Bedrock; everything behind it is the code path the demo
and the tests feed with recorded traces. The embedded emulator has no Bedrock runtime: run this
against AWS (``--env aws``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import uuid
from collections.abc import Iterable, Mapping
from typing import IO, Any

from autoninja_cli.trail import Trail, cli_errors, env_option

EXAMPLES = """examples:
  autoninja run "I would like a friend agent" --agent-id ABCDEFGHIJ --alias-id TSTALIASID --env aws
  autoninja run "I want a recipe assistant agent" --agent-id ABCDEFGHIJ --alias-id KLMNOPQRST \\
      --env aws --save trace.jsonl
"""


def record_stream(
    trail: Trail,
    events: Iterable[Mapping[str, Any]],
    *,
    job_name: str,
    answer: IO[str],
    save: IO[str] | None = None,
) -> Any:
    """Persist an InvokeAgent event stream as it arrives; print the answer's chunks; the summary.

    ``events`` is the ``completion`` stream of ``invoke_agent`` (or a recorded one): ``trace`` events
    go to the recorder, ``chunk`` bytes to ``answer``, and every event, made JSON-able, to ``save``.
    """
    from autoninja.trace import TraceRecorder, to_jsonable

    recorder = TraceRecorder(trail.log, job_name=job_name)
    for event in events:
        recorder.feed(event)
        if save is not None:
            save.write(json.dumps(to_jsonable(event), ensure_ascii=False, sort_keys=True) + "\n")
            save.flush()
        chunk = event.get("chunk")
        if isinstance(chunk, Mapping) and chunk.get("bytes") is not None:
            data = chunk["bytes"]
            answer.write(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data))
            answer.flush()
    return recorder.close()


@cli_errors
def run_agent(args: argparse.Namespace) -> int:
    import boto3

    from autoninja.jobs import JobNameGenerator, validate_job_name

    trail = Trail.connect(args.env)
    if args.job:
        validate_job_name(args.job)
        job_name = args.job
    else:
        job_name = JobNameGenerator(trail.log.table).new(args.request)
    session_id = args.session_id or f"autoninja-{uuid.uuid4().hex}"
    print(f"Job {job_name}, Bedrock session {session_id}", file=sys.stderr, flush=True)

    client = boto3.client("bedrock-agent-runtime")
    response = client.invoke_agent(
        agentId=args.agent_id,
        agentAliasId=args.alias_id,
        sessionId=session_id,
        inputText=args.request,
        enableTrace=True,
    )
    with open(args.save, "w", encoding="utf-8") if args.save else contextlib.nullcontext() as save:
        summary = record_stream(
            trail, response["completion"], job_name=job_name, answer=sys.stdout, save=save
        )
    print(f"\nTrace recorded: {summary}", file=sys.stderr)
    print(f"Inspect it: autoninja trail show {job_name} --env {args.env}", file=sys.stderr)
    return 0


def register(commands: Any) -> None:
    """Add ``run`` to the ``autoninja`` parser."""
    parser = commands.add_parser(
        "run",
        help="invoke a deployed supervisor agent with tracing and record every model invocation",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("request", help='what the user asks for, e.g. "I would like a friend agent"')
    parser.add_argument("--agent-id", required=True, help="the supervisor agent's id")
    parser.add_argument("--alias-id", required=True, help="the agent alias to invoke")
    parser.add_argument("--session-id", help="the Bedrock session id (default: a new one)")
    parser.add_argument("--job", help="record into this existing job (default: a new job name)")
    parser.add_argument("--save", metavar="FILE", help="also write the raw stream as JSON lines")
    env_option(parser)
    parser.set_defaults(run=run_agent)
