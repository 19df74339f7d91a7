"""``autoninja trail ...`` and ``autoninja reconcile``: inspect, verify, seal, export and import job trails.

They talk to the local stack by default (resource names from ``terraform output``, the emulator at
``AWS_ENDPOINT_URL`` or ``http://127.0.0.1:$PORT``), and to AWS with ``--env aws`` (names from the aws
environment's outputs) or whenever ``AUTONINJA_INFERENCE_TABLE``/``AUTONINJA_ARTIFACT_BUCKET``/
``AUTONINJA_KMS_KEY_ID`` are set, with the standard AWS credentials and region.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

EXAMPLES = """examples:
  autoninja trail jobs
  autoninja trail show job-friend-20261203-192142
  autoninja trail show job-friend-20261203-192142 --json > trail.json
  autoninja trail summary job-friend-20261203-192142
  autoninja trail verify job-friend-20261203-192142
  autoninja trail seal job-friend-20261203-192142
  autoninja trail export job-friend-20261203-192142 > job.jsonl
  autoninja trail import job.jsonl
  autoninja trail replay job-friend-20261203-192142 trace.jsonl
  autoninja --help                      (every command)
"""

TF_DIRS = {"local": "terraform/environments/local", "aws": "terraform/environments/aws"}


# --------------------------------------------------------------------------------------------------
# Wiring: which stack, which resources


@dataclass
class Trail:
    """The library objects a trail command needs, for one stack."""

    log: Any  # autoninja.records.InferenceLog
    artifacts: Any  # autoninja.artifacts.ArtifactStore
    sealer: Any  # autoninja.seal.JobSealer

    @classmethod
    def connect(cls, env: str) -> Trail:
        """Resolve the stack's resources and build the log, the artifact store and the sealer."""
        from autoninja.artifacts import ArtifactStore, S3ObjectStore
        from autoninja.records import DynamoInferenceTable, InferenceLog
        from autoninja.seal import JobSealer, KmsSigner
        from autoninja.settings import Settings

        settings = Settings.from_env(**resources(env))
        objects = S3ObjectStore.from_settings(settings)
        log = InferenceLog(
            DynamoInferenceTable.from_settings(settings),
            objects,
            payload_threshold_bytes=settings.payload_threshold_bytes,
        )
        artifacts = ArtifactStore(objects)
        signer = KmsSigner(settings.signing_key_id) if settings.signing_key_id else None
        return cls(log=log, artifacts=artifacts, sealer=JobSealer(log, artifacts, signer=signer))


def resources(env: str) -> dict[str, Any]:
    """Table, bucket and keys: from ``AUTONINJA_*`` if set, else from the environment's Terraform outputs.

    For the local stack it also points the SDK at the emulator (and gives it dummy credentials when
    none are set), exactly as the Makefile does.
    """
    if env == "local":
        port = os.environ.get("PORT", "4566")
        os.environ.setdefault("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    if os.environ.get("AUTONINJA_INFERENCE_TABLE"):
        return {}  # Settings reads AUTONINJA_* itself
    from autoninja_cli.stack import terraform_outputs

    tf_dir = os.environ.get("AUTONINJA_TF_DIR") if env == "local" else None
    outputs = terraform_outputs(tf_dir or TF_DIRS[env])
    found: dict[str, Any] = {
        "inference_table": outputs["inference_table_name"],
        "artifact_bucket": outputs["artifact_bucket_name"],
        "kms_key_id": outputs["kms_key_arn"],
    }
    if outputs.get("seal_signing_key_arn"):
        found["signing_key_id"] = outputs["seal_signing_key_arn"]
    return found


def cli_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every expected failure into one line on stderr and exit status 2, never a traceback."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        from autoninja.errors import AutoNinjaError
        from autoninja_cli.invoke import InvokeError
        from autoninja_cli.stack import StackError

        expected = (AutoNinjaError, StackError, InvokeError, BotoCoreError, ClientError, OSError, ValueError)
        try:
            return run(args)
        except expected as exc:
            print(f"autoninja: {exc}", file=sys.stderr)
            return 2

    return wrapper


# --------------------------------------------------------------------------------------------------
# Rendering


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def table(rows: Iterable[Iterable[Any]], headers: list[str], out: TextIO) -> None:
    """Print a plain, aligned text table."""
    text_rows = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text_rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in text_rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=out)


def _cost(value: Decimal | None) -> str:
    return "" if value is None else f"${value:.6f}"


def show_records(records: Iterable[Any], out: TextIO) -> int:
    """The records of a job as a table: time, agent, action, status, tokens, cost, duration."""
    rows = [
        (
            f"{r.timestamp[:10]} {r.timestamp[11:23]}",
            r.agent_name,
            r.action_name,
            r.status.value,
            r.tokens_used or "",
            _cost(r.cost_estimate),
            "" if r.duration_seconds is None else f"{r.duration_seconds:.3f}s",
        )
        for r in records
    ]
    table(rows, ["time", "agent", "action", "status", "tokens", "cost", "duration"], out)
    return len(rows)


def show_artifacts(trail: Trail, job_name: str, out: TextIO) -> None:
    """The job's artifacts with their sizes."""
    rows = [(info.key.split("/", 1)[1], f"{info.size:,} B") for info in trail.artifacts.list(job_name)]
    table(rows, ["artifact", "size"], out)


def show_summary(trail: Trail, job_name: str, out: TextIO) -> None:
    """Counts by status and the totals per agent."""
    summary = trail.log.summary(job_name)
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(summary.by_status.items()))
    print(f"{job_name}: {summary.total.records} records ({statuses})", file=out)
    rows = [
        (
            agent,
            t.records,
            t.input_tokens,
            t.output_tokens,
            _cost(t.cost_estimate),
            f"{t.duration_seconds:.3f}s",
        )
        for agent, t in sorted(summary.by_agent.items())
    ]
    total = summary.total
    rows.append(
        (
            "TOTAL",
            total.records,
            total.input_tokens,
            total.output_tokens,
            _cost(total.cost_estimate),
            f"{total.duration_seconds:.3f}s",
        )
    )
    table(rows, ["agent", "records", "input tokens", "output tokens", "cost", "duration"], out)


def show_verify(report: Any, out: TextIO) -> int:
    """Print a verify report; the exit status (0 verified, 1 not)."""
    seal = (
        f"sealed, signature {report.signature}" if report.sealed else "unsealed (verified record by record)"
    )
    counts = (
        f"{report.records_checked} records, {report.payloads_checked} payloads, "
        f"{report.artifacts_checked} artifacts checked"
    )
    if report.ok:
        print(f"{report.job_name}: verified ({seal}; {counts})", file=out)
        return 0
    print(f"{report.job_name}: NOT verified ({seal}; {counts})", file=out)
    print(f"first problem: {report.problems[0]}", file=out)
    for problem in report.problems[1:]:
        print(f"  also: {problem}", file=out)
    return 1


# --------------------------------------------------------------------------------------------------
# Commands


def _known_job(trail: Trail, job_name: str) -> Iterator[Any]:
    from autoninja.errors import NotFoundError
    from autoninja.jobs import validate_job_name

    validate_job_name(job_name)
    records = trail.log.job(job_name)
    first = next(records, None)
    if first is None:
        raise NotFoundError(f"no job named {job_name} (no records in the table)")
    yield first
    yield from records


@cli_errors
def run_jobs(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    jobs = sorted(trail.log.jobs(), key=lambda j: str(j.get("created_at", "")))
    table(
        [(j["job_name"], j.get("created_at", ""), j.get("request", "")) for j in jobs],
        ["job", "created", "request"],
        sys.stdout,
    )
    return 0


@cli_errors
def run_show(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    records = _known_job(trail, args.job)
    if args.json:
        json.dump([r.model_dump(mode="json") for r in records], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    show_records(records, sys.stdout)
    return 0


@cli_errors
def run_summary(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    next(_known_job(trail, args.job))
    show_summary(trail, args.job, sys.stdout)
    return 0


@cli_errors
def run_verify(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    next(_known_job(trail, args.job))
    return show_verify(trail.sealer.verify(args.job), sys.stdout)


@cli_errors
def run_seal(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    next(_known_job(trail, args.job))
    seal = trail.sealer.seal(args.job)
    signed = f"signed with {seal['signing_key_id']}" if seal.get("signature") else "unsigned (no signing key)"
    print(
        f"{args.job}: sealed {seal['record_count']} records and {seal['artifact_count']} artifacts, {signed}"
    )
    return 0


@cli_errors
def run_export(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    next(_known_job(trail, args.job))
    for item in trail.log.table.query_job(args.job):
        full = trail.log.payloads.unpack(item)
        sys.stdout.write(json.dumps(full, default=_json_default, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


@cli_errors
def run_import(args: argparse.Namespace) -> int:
    from autoninja.records import DECIMAL_FIELDS

    trail = Trail.connect(args.env)
    written = present = 0
    with open(args.file, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{args.file}:{number}: not a JSON record ({exc.msg})") from None
            for name in DECIMAL_FIELDS:  # exported as strings, so no precision is lost
                if isinstance(item.get(name), str):
                    item[name] = Decimal(item[name])
            if trail.log.restore(item):
                written += 1
            else:
                present += 1
    print(f"imported {written} records ({present} already present)")
    return 0


@cli_errors
def run_replay(args: argparse.Namespace) -> int:
    from autoninja.jobs import validate_job_name
    from autoninja.trace import replay

    validate_job_name(args.job)
    trail = Trail.connect(args.env)
    print(replay(trail.log, args.file, job_name=args.job))
    return 0


@cli_errors
def run_reconcile(args: argparse.Namespace) -> int:
    trail = Trail.connect(args.env)
    report = trail.log.reconcile()
    print(
        f"reconciled: {report.replayed} replayed, {report.already_present} already present, "
        f"{len(report.failed)} failed"
    )
    for failure in report.failed:
        print(f"  failed: {failure}", file=sys.stderr)
    return 1 if report.failed else 0


def env_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        choices=sorted(TF_DIRS),
        default="local",
        help="which stack: the local emulator (default) or AWS",
    )


def register(commands: Any) -> None:
    """Add ``trail`` (with its subcommands) and ``reconcile`` to the ``autoninja`` parser."""
    formatter = argparse.RawDescriptionHelpFormatter
    trail = commands.add_parser(
        "trail",
        help="inspect, verify, seal, export and import job trails",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    sub = trail.add_subparsers(dest="trail_command", required=True, metavar="SUBCOMMAND")
    specs: list[tuple[str, str, Callable[[argparse.Namespace], int], str]] = [
        ("jobs", "list the jobs", run_jobs, "autoninja trail jobs"),
        (
            "show",
            "the records of a job (--json: with payloads)",
            run_show,
            "autoninja trail show JOB\n  autoninja trail show JOB --json",
        ),
        (
            "summary",
            "counts by status, and tokens, cost and duration per agent",
            run_summary,
            "autoninja trail summary JOB",
        ),
        (
            "verify",
            "recompute record hashes, payload digests, artifact checksums and the seal",
            run_verify,
            "autoninja trail verify JOB   (exit 1 and the first problem if anything was altered)",
        ),
        (
            "seal",
            "seal a completed job (signed when a signing key is configured)",
            run_seal,
            "autoninja trail seal JOB",
        ),
        (
            "export",
            "one JSON record per line, payloads included (re-importable)",
            run_export,
            "autoninja trail export JOB > job.jsonl",
        ),
        (
            "import",
            "write exported records back (exactly once)",
            run_import,
            "autoninja trail import job.jsonl",
        ),
        (
            "replay",
            "record a saved InvokeAgent trace into a job (exactly once)",
            run_replay,
            "autoninja trail replay JOB trace.jsonl",
        ),
    ]
    for name, help_text, run, example in specs:
        parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=formatter,
        )
        if name == "import":
            parser.add_argument("file", help="a file written by `autoninja trail export`")
        elif name != "jobs":
            parser.add_argument("job", help="the job name, e.g. job-friend-20261203-192142")
        if name == "replay":
            parser.add_argument("file", help="a recorded trace: JSON list or JSON lines (`run --save`)")
        if name == "show":
            parser.add_argument(
                "--json", action="store_true", help="print records as JSON, payloads rehydrated"
            )
        env_option(parser)
        parser.set_defaults(run=run)
    reconcile = commands.add_parser(
        "reconcile",
        help="replay dead-lettered records into the table (idempotent)",
        description="Replay every record dead-lettered to S3 while the table was unavailable, exactly once.",
        epilog="example:\n  autoninja reconcile\n  autoninja reconcile --env aws",
        formatter_class=formatter,
    )
    env_option(reconcile)
    reconcile.set_defaults(run=run_reconcile)
