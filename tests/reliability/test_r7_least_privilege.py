"""R7 least privilege: each function's Terraform-made role can make the calls its function makes, and
is denied what it must never do.

Given an emulator of this test's own (a free port in 4660-4669, its Terraform data and state under
``.local/<port>``, stopped at the end whatever happens), started with IAM enforcement
(:mod:`autoninja_cli.iam_enforcement`: requests judged against their real resource ARNs and condition
keys with IAM's evaluation logic), and ``terraform/environments/local`` applied to it while it still
answers unauthenticated; each of the five function roles assumed there, as Lambda does for a function
(the trust policy names only ``lambda.amazonaws.com``, so nothing else can assume them: checked below);
then IAM switched on, so the credentials Terraform used are refused from then on.

When each function runs every committed valid event of its own, in pipeline order on one job, in this
process with exactly what Lambda gives it (its role's credentials in the environment, the environment
Terraform set on it), and each role then makes the remaining calls its function's runtime makes
(KMS with the CMK and the seal key, its own log group, X-Ray) and a list of forbidden ones,
then no AWS call the functions made was refused, every direct allowed call succeeds, and every
forbidden call is answered AccessDenied (HTTP 403): deleting the table or a record, scanning it,
reading a dead letter or an object outside the job prefixes, listing the dead letters, writing without
SSE-KMS, with another key or outside the prefixes, deleting an artifact, scheduling the CMK's deletion,
using another key, any IAM change, assuming another function's role, writing to another function's
log group, and replacing any function's code (and for deployment-manager: a stack outside its prefix,
and IAM or DynamoDB calls made directly instead of through CloudFormation).

What the emulator cannot show: bucket and key policies are not evaluated (R8 checks the bucket
policy's TLS and KMS denies statically), S3 does not use the caller's KMS rights for SSE-KMS, and
condition keys only AWS sets (``aws:CalledVia``) are absent, as they are on a direct call in AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from autoninja.artifacts import DEAD_LETTER_PREFIX
from autoninja_cli import emulator
from autoninja_cli.stack import REPO_ROOT
from tests.reliability.conftest import report_figure, unique_job
from tests.support.functions import (
    AGENTS,
    event_names,
    lambda_context,
    load_event,
    load_function,
    with_properties,
)

PORTS = range(4660, 4670)
TF_DIR = REPO_ROOT / "terraform" / "environments" / "local"
LOCAL_RUNTIME = "python3.11"
PACKAGE_DIR = REPO_ROOT / "build" / LOCAL_RUNTIME
TF_MIRROR_CANDIDATES = ("/opt/tf-plugins", "/usr/share/terraform/plugins")
DENIED_CODES = {"AccessDenied", "AccessDeniedException"}
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=30)


# -- the emulator and its stack --------------------------------------------------------------------


def _free_port() -> int:
    for port in PORTS:
        if emulator.answers(port):
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    pytest.fail(f"no free port in {PORTS.start}-{PORTS.stop - 1} for R7's own emulator", pytrace=False)


def _terraform_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["TF_DATA_DIR"] = str(data_dir)
    env["TF_IN_AUTOMATION"] = "1"
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).is_file():
        del env["TF_CLI_CONFIG_FILE"]  # a missing file only produces warnings
    return env


def _terraform(args: list[str], env: dict[str, str], log: Path) -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH", pytrace=False)
    result = subprocess.run(
        [terraform, f"-chdir={TF_DIR}", *args], capture_output=True, text=True, env=env, check=False
    )
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        pytest.fail(f"terraform {args[0]} failed (see {log}):\n{result.stderr[-3000:]}", pytrace=False)
    return result.stdout


@dataclass
class EnforcingStack:
    port: int
    outputs: dict[str, Any]
    apply_seconds: float

    @property
    def endpoint(self) -> str:
        return emulator.endpoint_for(self.port)

    @property
    def region(self) -> str:
        return str(self.outputs["region"])

    def client(self, service: str, credentials: dict[str, str] | None = None) -> Any:
        """A client of the emulator: the role's credentials, or the unauthenticated ``test`` ones."""
        keys = credentials or {"AccessKeyId": "test", "SecretAccessKey": "test"}
        session = boto3.session.Session(  # its own session: the default one is the functions'
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys.get("SessionToken"),
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.endpoint, config=ONE_ATTEMPT)


@pytest.fixture(scope="module")
def enforcing_stack() -> Iterator[EnforcingStack]:
    """Our own emulator with IAM enforcement installed (not yet on) and the local environment applied."""
    if not (PACKAGE_DIR / "layer.zip").is_file():
        pytest.fail(f"{PACKAGE_DIR}/layer.zip is missing: run `make package-local` first", pytrace=False)
    port = _free_port()
    state_dir = REPO_ROOT / ".local" / str(port)
    data_dir = state_dir / "terraform"
    state = state_dir / "terraform.tfstate"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in (state, state.with_name("terraform.tfstate.backup")):
        stale.unlink(missing_ok=True)  # it would describe an emulator that is gone
    started = emulator.start(port, state_dir, iam_enforcement=True)
    assert started == "started", f"port {port} was taken between the check and the start"
    try:
        env = _terraform_env(data_dir)
        mirror = next((path for path in TF_MIRROR_CANDIDATES if Path(path).is_dir()), None)
        init = ["init", "-input=false", "-no-color", f"-backend-config=path={state}"]
        _terraform([*init, *([f"-plugin-dir={mirror}"] if mirror else [])], env, state_dir / "init.log")
        variables = [
            f"-var=endpoint={emulator.endpoint_for(port)}",
            "-var=region=us-east-1",
            f"-var=lambda_runtime={LOCAL_RUNTIME}",
            f"-var=package_dir={PACKAGE_DIR}",
        ]
        applying = time.monotonic()
        _terraform(
            ["apply", "-auto-approve", "-input=false", "-no-color", *variables], env, state_dir / "apply.log"
        )
        apply_seconds = time.monotonic() - applying
        shown = _terraform(["output", "-json", "-no-color"], env, state_dir / "output.log")
        outputs = {name: entry["value"] for name, entry in json.loads(shown).items()}
        yield EnforcingStack(port=port, outputs=outputs, apply_seconds=apply_seconds)
    finally:
        emulator.stop(state_dir)
        for stale in (state, state.with_name("terraform.tfstate.backup")):
            stale.unlink(missing_ok=True)


# -- outcomes --------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """Every call R7 made, allowed or forbidden, and the ones that did not end as they must."""

    allowed: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    def allow(self, role: str, label: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except ClientError as exc:
            self.unexpected.append(f"{role}: {label} should be allowed, got {_code(exc)}")
            return None
        self.allowed[role] += 1
        return result

    def deny(self, role: str, label: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if _code(exc) in DENIED_CODES and status == 403:
                self.denied[role] += 1
                return
            self.unexpected.append(f"{role}: {label} should be AccessDenied, got {_code(exc)} ({status})")
            return
        self.unexpected.append(f"{role}: {label} should be AccessDenied, but it succeeded")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))


class ApiCalls:
    """Every AWS call made by clients of the default session (what a function's code builds)."""

    def __init__(self, session: boto3.Session) -> None:
        self.seen: list[tuple[str, str, int, str | None]] = []
        session.events.register("after-call", self._after_call)

    def _after_call(self, http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        self.seen.append((model.service_model.service_name, model.name, http_response.status_code, code))

    def refused(self) -> list[str]:
        return [f"{svc}:{op} {status} {code}" for svc, op, status, code in self.seen if status in (401, 403)]


@dataclass(frozen=True)
class World:
    """What the roles act on: the stack, its outputs, the job, and what no role may reach."""

    stack: EnforcingStack
    job: str
    credentials: dict[str, dict[str, str]]
    role_arns: dict[str, str]
    function_env: dict[str, dict[str, str]]
    dead_letter: str
    outside_key: str
    other_key: str


def _role_calls(ledger: Ledger, world: World, agent: str) -> None:
    """The calls a role must be allowed beyond its function's own code, then the forbidden ones."""
    stack, job = world.stack, world.job
    out = stack.outputs
    table, bucket, cmk = out["inference_table_name"], out["artifact_bucket_name"], out["kms_key_arn"]
    seal_key, functions = out["seal_signing_key_arn"], out["function_names"]
    dead_letter, outside_key, other_key = world.dead_letter, world.outside_key, world.other_key
    role_arns, function_env = world.role_arns, world.function_env
    keys = world.credentials[agent]
    ddb, s3, kms = stack.client("dynamodb", keys), stack.client("s3", keys), stack.client("kms", keys)
    logs, lam_as = stack.client("logs", keys), stack.client("lambda", keys)
    own_group = f"/aws/lambda/{functions[agent]}"
    other = AGENTS[(AGENTS.index(agent) + 1) % len(AGENTS)]
    record = {"job_name": {"S": job}, "record_id": {"S": f"rec#r7-{agent}"}}
    artifact = f"{job}/r7/{agent}/allowed.txt"

    def put(key: str, **sse: str) -> Callable[[], Any]:
        return lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"r7", **sse)

    with_cmk = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": cmk}
    ledger.allow(agent, "PutItem", lambda: ddb.put_item(TableName=table, Item=record))
    ledger.allow(agent, "GetItem", lambda: ddb.get_item(TableName=table, Key=record, ConsistentRead=True))
    ledger.allow(
        agent,
        "Query",
        lambda: ddb.query(
            TableName=table,
            KeyConditionExpression="job_name = :j",
            ExpressionAttributeValues={":j": {"S": job}},
        ),
    )
    for index, hash_key in (("SessionIdIndex", "session_id"), ("AgentNameTimestampIndex", "agent_name")):
        ledger.allow(
            agent,
            f"Query {index}",
            lambda index=index, hash_key=hash_key: ddb.query(
                TableName=table,
                IndexName=index,
                KeyConditionExpression="#k = :v",
                ExpressionAttributeNames={"#k": hash_key},
                ExpressionAttributeValues={":v": {"S": agent}},
            ),
        )
    ledger.allow(agent, "PutObject under its job", put(artifact, **with_cmk))
    ledger.allow(agent, "GetObject under its job", lambda: s3.get_object(Bucket=bucket, Key=artifact))
    ledger.allow(
        agent, "ListObjectsV2 of its job", lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{job}/")
    )
    ledger.allow(
        agent, "PutObject of a dead letter", put(f"{DEAD_LETTER_PREFIX}{job}/{agent}.json", **with_cmk)
    )
    data_key = ledger.allow(
        agent, "GenerateDataKey", lambda: kms.generate_data_key(KeyId=cmk, KeySpec="AES_256")
    )
    if data_key is not None:
        blob = data_key["CiphertextBlob"]
        ledger.allow(agent, "Decrypt", lambda blob=blob: kms.decrypt(CiphertextBlob=blob))
    signed = ledger.allow(
        agent,
        "Sign with the seal key",
        lambda: kms.sign(KeyId=seal_key, Message=b"seal", SigningAlgorithm="ECDSA_SHA_256"),
    )
    if signed is not None:
        ledger.allow(
            agent,
            "Verify with the seal key",
            lambda signed=signed: kms.verify(
                KeyId=seal_key,
                Message=b"seal",
                Signature=signed["Signature"],
                SigningAlgorithm="ECDSA_SHA_256",
            ),
        )
    stream = f"r7-{agent}"
    ledger.allow(
        agent,
        "CreateLogStream",
        lambda: logs.create_log_stream(logGroupName=own_group, logStreamName=stream),
    )
    ledger.allow(
        agent,
        "PutLogEvents",
        lambda: logs.put_log_events(
            logGroupName=own_group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "r7"}],
        ),
    )
    ledger.allow(
        agent,
        "PutTraceSegments",
        lambda: stack.client("xray", keys).put_trace_segments(TraceSegmentDocuments=[]),
    )

    # forbidden
    ledger.deny(agent, "DeleteTable", lambda: ddb.delete_table(TableName=table))
    ledger.deny(agent, "DeleteItem", lambda: ddb.delete_item(TableName=table, Key=record))
    ledger.deny(agent, "Scan", lambda: ddb.scan(TableName=table))
    ledger.deny(agent, "GetObject of a dead letter", lambda: s3.get_object(Bucket=bucket, Key=dead_letter))
    ledger.deny(agent, "GetObject outside the jobs", lambda: s3.get_object(Bucket=bucket, Key=outside_key))
    ledger.deny(
        agent,
        "ListObjectsV2 of the dead letters",
        lambda: s3.list_objects_v2(Bucket=bucket, Prefix=DEAD_LETTER_PREFIX),
    )
    ledger.deny(agent, "PutObject without SSE-KMS", put(f"{job}/r7/{agent}/plain.txt"))
    ledger.deny(
        agent, "PutObject with SSE-S3", put(f"{job}/r7/{agent}/s3.txt", ServerSideEncryption="AES256")
    )
    ledger.deny(
        agent,
        "PutObject with another key",
        put(f"{job}/r7/{agent}/other.txt", ServerSideEncryption="aws:kms", SSEKMSKeyId=other_key),
    )
    ledger.deny(agent, "PutObject outside the prefixes", put(f"r7-{agent}.txt", **with_cmk))
    ledger.deny(agent, "DeleteObject of an artifact", lambda: s3.delete_object(Bucket=bucket, Key=artifact))
    ledger.deny(agent, "ScheduleKeyDeletion of the CMK", lambda: kms.schedule_key_deletion(KeyId=cmk))
    ledger.deny(
        agent,
        "GenerateDataKey with another key",
        lambda: kms.generate_data_key(KeyId=other_key, KeySpec="AES_256"),
    )
    iam_as = stack.client("iam", keys)
    ledger.deny(
        agent,
        "iam:PutRolePolicy on its own role",
        lambda: iam_as.put_role_policy(
            RoleName=f"{functions[agent]}-role",
            PolicyName="escalate",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        ),
    )
    ledger.deny(agent, "iam:CreateUser", lambda: iam_as.create_user(UserName=f"r7-{agent}"))
    ledger.deny(agent, "iam:ListRoles", iam_as.list_roles)
    ledger.deny(
        agent,
        f"AssumeRole of {other}'s role",
        lambda: stack.client("sts", keys).assume_role(RoleArn=role_arns[other], RoleSessionName="r7"),
    )
    other_group = f"/aws/lambda/{functions[other]}"
    ledger.deny(
        agent,
        f"CreateLogStream in {other}'s log group",
        lambda: logs.create_log_stream(logGroupName=other_group, logStreamName=stream),
    )
    ledger.deny(
        agent,
        f"PutLogEvents in {other}'s log group",
        lambda: logs.put_log_events(
            logGroupName=other_group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "r7"}],
        ),
    )
    for target in (other, agent):
        ledger.deny(
            agent,
            f"UpdateFunctionCode of {target}",
            lambda target=target: lam_as.update_function_code(
                FunctionName=functions[target], ZipFile=b"PK\x05\x06" + b"\0" * 18
            ),
        )
    if agent == "deployment-manager":
        cfn, prefix = (
            stack.client("cloudformation", keys),
            function_env[agent]["AUTONINJA_DEPLOY_STACK_PREFIX"],
        )
        template = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
        ledger.allow(
            agent,
            "CreateStack under its prefix",
            lambda: cfn.create_stack(StackName=f"{prefix}r7", TemplateBody=template),
        )
        ledger.allow(
            agent, "DescribeStacks under its prefix", lambda: cfn.describe_stacks(StackName=f"{prefix}r7")
        )
        ledger.allow(agent, "DeleteStack under its prefix", lambda: cfn.delete_stack(StackName=f"{prefix}r7"))
        ledger.deny(
            agent,
            "CreateStack outside its prefix",
            lambda: cfn.create_stack(StackName="r7-elsewhere", TemplateBody=template),
        )
        ledger.deny(
            agent,
            "iam:CreateRole directly (only through CloudFormation)",
            lambda: iam_as.create_role(
                RoleName="r7-direct", AssumeRolePolicyDocument=json.dumps({"Statement": []})
            ),
        )


# -- the test --------------------------------------------------------------------------------------


def test_each_function_role_can_do_its_work_and_nothing_else(
    enforcing_stack: EnforcingStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    stack = enforcing_stack
    out = stack.outputs
    table, bucket, cmk = out["inference_table_name"], out["artifact_bucket_name"], out["kms_key_arn"]
    functions = out["function_names"]
    job = unique_job("rseven")

    # Given, before IAM is on: the five roles assumed (as Lambda would), each function's environment,
    # and things a role must not reach: an object outside the job prefixes, a dead letter, another
    # key, and an account user allowed to assume any role (whom the roles' trust policies refuse)
    iam, sts, lam = stack.client("iam"), stack.client("sts"), stack.client("lambda")
    credentials: dict[str, dict[str, str]] = {}
    function_env: dict[str, dict[str, str]] = {}
    role_arns: dict[str, str] = {}
    for agent in AGENTS:
        role_arns[agent] = iam.get_role(RoleName=f"{functions[agent]}-role")["Role"]["Arn"]
        credentials[agent] = sts.assume_role(RoleArn=role_arns[agent], RoleSessionName=f"r7-{agent}")[
            "Credentials"
        ]
        configuration = lam.get_function_configuration(FunctionName=functions[agent])
        function_env[agent] = configuration["Environment"]["Variables"]
    admin_s3 = stack.client("s3")
    outside_key, dead_letter = "outside/r7.txt", f"{DEAD_LETTER_PREFIX}{job}/r7.json"
    for key in (outside_key, dead_letter):
        admin_s3.put_object(
            Bucket=bucket, Key=key, Body=b"r7", ServerSideEncryption="aws:kms", SSEKMSKeyId=cmk
        )
    other_key = stack.client("kms").create_key(Description="not the project's key")["KeyMetadata"]["Arn"]
    iam.create_user(UserName="r7-outsider")
    iam.put_user_policy(
        UserName="r7-outsider",
        PolicyName="assume-anything",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    outsider = iam.create_access_key(UserName="r7-outsider")["AccessKey"]

    # ... then IAM enforced: the credentials Terraform used no longer work
    emulator.enforce_iam(stack.port)
    with pytest.raises(ClientError) as refused:
        stack.client("dynamodb").describe_table(TableName=table)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), refused.value.response

    ledger = Ledger()
    statuses: Counter[int] = Counter()
    function_calls: Counter[str] = Counter()

    # When each function runs its own committed valid events with what Lambda gives it
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint)
    monkeypatch.setenv("AWS_REGION", stack.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack.region)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for agent in AGENTS:
        keys = credentials[agent]
        for name, value in {
            **function_env[agent],
            "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
            "AWS_SESSION_TOKEN": keys["SessionToken"],
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        boto3.setup_default_session()
        calls = ApiCalls(boto3.DEFAULT_SESSION)  # type: ignore[arg-type]
        module = load_function(agent)
        for name in (n for n in event_names(agent) if "/" not in n):
            event = with_properties(load_event(agent, name), job_name=job)
            response = module.lambda_handler(event, lambda_context(agent))
            statuses[int(response["response"]["httpStatusCode"])] += 1
        ledger.unexpected.extend(f"{agent} (its own code): {call} refused" for call in calls.refused())
        function_calls[agent] = len(calls.seen) - len(calls.refused())
        ledger.allowed[agent] += function_calls[agent]

    # ... and each role makes the other calls its runtime makes, then the forbidden ones
    world = World(stack, job, credentials, role_arns, function_env, dead_letter, outside_key, other_key)
    for agent in AGENTS:
        _role_calls(ledger, world, agent)

    # ... and nobody but Lambda can assume a function role, not even a user allowed to assume any role
    outsider_sts = stack.client(
        "sts", {"AccessKeyId": outsider["AccessKeyId"], "SecretAccessKey": outsider["SecretAccessKey"]}
    )
    for agent in AGENTS:
        ledger.deny(
            "r7-outsider",
            f"AssumeRole of {agent}'s role",
            lambda agent=agent: outsider_sts.assume_role(RoleArn=role_arns[agent], RoleSessionName="r7"),
        )

    seconds = time.monotonic() - started
    report_figure(
        f"R7 least privilege: {len(AGENTS)} roles, {sum(ledger.allowed.values())} allowed calls allowed "
        f"({sum(function_calls.values())} made by the functions' own code on "
        f"{sum(statuses.values())} events, "
        f"statuses {dict(sorted(statuses.items()))}), {sum(ledger.denied.values())} forbidden calls denied "
        f"({min(ledger.denied[a] for a in AGENTS)}+ per role), {len(ledger.unexpected)} unexpected; "
        f"emulator port {stack.port}, apply {stack.apply_seconds:.0f}s, checks {seconds:.0f}s"
    )

    # Then nothing a function does is refused, and everything forbidden is
    assert ledger.unexpected == [], "\n".join(ledger.unexpected)
    assert all(function_calls[agent] > 0 for agent in AGENTS), function_calls
    assert min(ledger.denied[agent] for agent in AGENTS) >= 5
    assert ledger.denied["r7-outsider"] == len(AGENTS)
