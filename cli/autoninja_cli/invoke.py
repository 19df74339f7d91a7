"""``autoninja invoke``: run a deployed function's handler locally, from the built zips.

The function is run the way Lambda runs it, so a packaging mistake fails here as it would in AWS:

1. Its configuration comes from where Terraform deployed it: ``lambda get_function_configuration``
   on the emulator, by the name in ``terraform output function_names`` (handler, runtime, memory,
   timeout, environment variables, layers), never from local files.
2. The zips are the ones in ``build/<runtime>/``, checked against the ``CodeSha256`` the emulator
   holds for the function and its layer: a zip that differs from what was deployed is refused.
3. They are unpacked the way Lambda lays them out, in a temporary directory: the function code in
   ``<tmp>/task`` (``/var/task``), the layer in ``<tmp>/opt`` (so its ``python/`` is ``/opt/python``).
4. The handler runs in a fresh, isolated interpreter (``python -I -S -B``) of the runtime's Python
   version whose import path holds only those two folders, the standard library and the runtime's
   bundled SDK (``build/runtime/<runtime>``, installed by ``make runtime-sdk``); its environment is the
   function's, plus what Lambda itself sets and the emulator's endpoint, credentials and region.

Example::

    response = invoke_packaged("requirements-analyst", event)
    response["response"]["httpStatusCode"]          # 200, or a 4xx/5xx error envelope

Command line: ``autoninja invoke AGENT EVENT_FILE`` prints the response JSON and exits 0 for any
well-formed Bedrock response (including 4xx/5xx envelopes); otherwise one error line and exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from autoninja_cli.packaging import lambda_code_sha256, python_version
from autoninja_cli.stack import REPO_ROOT, StackError, terraform_outputs

if TYPE_CHECKING:
    from collections.abc import Sequence

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
#: Variables of the caller passed on to the handler: how the SDK finds the emulator and signs requests.
PASSED_THROUGH = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CA_BUNDLE",
)
#: Seconds allowed on top of the function's own timeout for interpreter start and teardown.
TIMEOUT_MARGIN_SECONDS = 30


class InvokeError(Exception):
    """The packaged handler could not be run, or did not answer with a Bedrock response."""


def build_dir() -> Path:
    """Where ``make package`` puts the zips (``$AUTONINJA_BUILD_DIR``, default ``<repo>/build``)."""
    return Path(os.environ.get("AUTONINJA_BUILD_DIR") or REPO_ROOT / "build")


def interpreter_for(runtime: str) -> str:
    """A Python interpreter of ``runtime``'s version: this one if it matches, else ``pythonX.Y``."""
    version = python_version(runtime)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise InvokeError(f"no python{version} on PATH to run {runtime} code locally")
    return found


def _lambda_client(region: str | None) -> Any:
    import boto3

    return boto3.client("lambda", region_name=region)


@dataclass
class _Sandbox:
    """A warm interpreter serving invocations (``lambda_bootstrap`` in ``serve`` mode)."""

    process: subprocess.Popen[str]
    notify_fd: int
    log_path: Path
    log_offset: int = 0

    def new_logs(self) -> str:
        """What the handler logged since the last call."""
        with self.log_path.open(encoding="utf-8", errors="replace") as log:
            log.seek(self.log_offset)
            text = log.read()
            self.log_offset = log.tell()
        return text

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.notify_fd)


@dataclass
class PackagedFunction:
    """A deployed function unpacked from its zips, ready to run in fresh interpreters."""

    agent: str
    configuration: dict[str, Any]
    root: Path
    runtime_sdk: Path
    python: str
    region: str
    env: dict[str, str] = field(default_factory=dict)
    warm: bool = False
    _sandbox: _Sandbox | None = field(default=None, repr=False)

    @property
    def task(self) -> Path:
        """The function code (Lambda's ``/var/task``)."""
        return self.root / "task"

    @property
    def opt(self) -> Path:
        """Where the layer is unpacked (Lambda's ``/opt``); the layer's import folder is ``opt/python``."""
        return self.root / "opt"

    def _run(self, request: dict[str, Any], logs: IO[str] | None) -> dict[str, Any]:
        result_file = self.root / f"result-{uuid.uuid4().hex}.json"
        request = {**request, **self._paths(), "result": str(result_file)}
        timeout = int(self.configuration.get("Timeout", 3)) + TIMEOUT_MARGIN_SECONDS
        try:
            completed = subprocess.run(  # noqa: S603 - our interpreter and bootstrap, no shell
                [self.python, "-I", "-S", "-B", str(BOOTSTRAP)],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                cwd=self.task,
                env=self.env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise InvokeError(f"{self.agent}: the handler did not finish within {timeout}s") from exc
        if logs is not None:
            logs.write(completed.stdout)
            logs.write(completed.stderr)
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return self._result(
            result_file, f"the interpreter exited with {completed.returncode} without a result: {tail[0]}"
        )

    def _paths(self) -> dict[str, str]:
        return {"task": str(self.task), "opt": str(self.opt / "python"), "runtime": str(self.runtime_sdk)}

    def _start_sandbox(self) -> _Sandbox:
        read_fd, write_fd = os.pipe()
        log_path = self.root / f"sandbox-{uuid.uuid4().hex}.log"
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(  # noqa: S603 - our interpreter and bootstrap, no shell
                [self.python, "-I", "-S", "-B", "-u", str(BOOTSTRAP)],  # -u: each log line as written
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=self.task,
                env=self.env,
                pass_fds=(write_fd,),
            )
        os.close(write_fd)
        setup = {**self._paths(), "mode": "serve", "handler": self.configuration["Handler"]}
        assert process.stdin is not None  # stdin=PIPE
        process.stdin.write(json.dumps({**setup, "notify_fd": write_fd, "result": ""}) + "\n")
        process.stdin.flush()
        return _Sandbox(process, read_fd, log_path)

    def _invoke_warm(self, invocation: dict[str, Any], logs: IO[str] | None) -> dict[str, Any]:
        """One invocation in the warm sandbox (started on first use, like a Lambda cold start)."""
        sandbox = self._sandbox = self._sandbox or self._start_sandbox()
        result_file = self.root / f"result-{uuid.uuid4().hex}.json"
        timeout = int(self.configuration.get("Timeout", 3)) + TIMEOUT_MARGIN_SECONDS
        try:
            assert sandbox.process.stdin is not None  # stdin=PIPE
            sandbox.process.stdin.write(json.dumps({**invocation, "result": str(result_file)}) + "\n")
            sandbox.process.stdin.flush()
            ready, _, _ = select.select([sandbox.notify_fd], [], [], timeout)
            done = os.read(sandbox.notify_fd, 64) if ready else b""
        except OSError:
            done = b""
        logged = sandbox.new_logs()
        if logs is not None:
            logs.write(logged)
        if not done:  # like Lambda, a sandbox that timed out or crashed is discarded
            self.close()
            what = f"did not finish within {timeout}s" if not ready else "crashed"
            tail = logged.strip().splitlines()[-1:] or ["no output"]
            raise InvokeError(f"{self.agent}: the handler {what} (sandbox discarded): {tail[0]}")
        return self._result(result_file, "the warm sandbox wrote no result")

    def _result(self, result_file: Path, missing: str) -> dict[str, Any]:
        try:
            result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InvokeError(f"{self.agent}: {missing}") from None
        finally:
            result_file.unlink(missing_ok=True)
        if "error" in result:
            error = result["error"]
            raise InvokeError(f"{self.agent}: {error.get('errorType')}: {error.get('errorMessage')}")
        return result

    def close(self) -> None:
        """Stop the warm sandbox, if one is running."""
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    def invoke(self, event: Mapping[str, Any], *, logs: IO[str] | None = sys.stderr) -> dict[str, Any]:
        """Run the handler on ``event``; the well-formed Bedrock response.

        Each invocation gets a fresh interpreter, unless the function is ``warm``: then one
        interpreter imports the handler once and serves every invocation, as a warm Lambda sandbox
        does (module state, cached clients and logger keys carry over between invocations).
        """
        name = self.configuration["FunctionName"]
        context = {
            "function_name": name,
            "function_version": self.configuration.get("Version", "$LATEST"),
            "invoked_function_arn": self.configuration["FunctionArn"],
            "memory_limit_in_mb": self.configuration.get("MemorySize", 128),
            "timeout_seconds": self.configuration.get("Timeout", 3),
            "aws_request_id": str(uuid.uuid4()),
            "log_group_name": self.env["AWS_LAMBDA_LOG_GROUP_NAME"],
            "log_stream_name": self.env["AWS_LAMBDA_LOG_STREAM_NAME"],
        }
        invocation = {"event": dict(event), "context": context}
        if self.warm:
            response = self._invoke_warm(invocation, logs)["response"]
        else:
            request = {"mode": "invoke", "handler": self.configuration["Handler"], **invocation}
            response = self._run(request, logs)["response"]
        problem = bedrock_response_problem(response)
        if problem:
            raise InvokeError(f"{self.agent}: not a Bedrock action-group response: {problem}")
        return dict(response)

    def probe(
        self, modules: Sequence[str], *, handler: str | None = None, logs: IO[str] | None = None
    ) -> dict[str, Any]:
        """Import the handler module (or ``handler``'s) in a fresh interpreter, as :meth:`invoke` does.

        Returns where each of ``modules`` was imported from (``{"modules": {name: file}}``), the import
        path and the import's duration (``import_seconds``).
        """
        request = {
            "mode": "probe",
            "handler": handler or self.configuration["Handler"],
            "modules": list(modules),
        }
        return self._run(request, logs)


def bedrock_response_problem(response: Any) -> str | None:
    """What makes ``response`` not a Bedrock action-group response envelope; ``None`` if it is one."""
    if not isinstance(response, Mapping):
        return f"a {type(response).__name__}, not an object"
    if response.get("messageVersion") != "1.0":
        return f"messageVersion is {response.get('messageVersion')!r}, not '1.0'"
    inner = response.get("response")
    if not isinstance(inner, Mapping):
        return "no response object"
    missing = [key for key in ("actionGroup", "apiPath", "httpMethod") if not isinstance(inner.get(key), str)]
    if missing:
        return f"response lacks {', '.join(missing)}"
    status = inner.get("httpStatusCode")
    if not isinstance(status, int) or not 100 <= status <= 599:
        return f"httpStatusCode is {status!r}"
    if not isinstance(inner.get("responseBody"), Mapping):
        return "response lacks responseBody"
    return None


def _check_deployed(zip_path: Path, deployed_sha: str | None, what: str) -> None:
    if not zip_path.is_file():
        raise InvokeError(f"{zip_path} does not exist: build it with `make package` (or `make up`)")
    if deployed_sha is not None and lambda_code_sha256(zip_path) != deployed_sha:
        raise InvokeError(
            f"{zip_path} differs from the deployed {what} (CodeSha256 {deployed_sha}): "
            "apply the current build with `make up`"
        )


def _extract(zip_path: Path, destination: Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():  # zip-slip: every entry must stay inside destination
            target = (destination / member).resolve()
            if not target.is_relative_to(destination.resolve()):
                raise InvokeError(f"{zip_path}: entry {member!r} would be written outside {destination}")
        archive.extractall(destination)


def _lambda_env(
    configuration: Mapping[str, Any], root: Path, runtime_sdk: Path, region: str
) -> dict[str, str]:
    """The handler's environment: the function's variables, then what Lambda itself sets."""
    name = configuration["FunctionName"]
    runtime = configuration["Runtime"]
    env: dict[str, str] = dict((configuration.get("Environment") or {}).get("Variables") or {})
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": configuration.get("Version", "$LATEST"),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration.get("MemorySize", 128)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "LAMBDA_TASK_ROOT": str(root / "task"),
            "LAMBDA_RUNTIME_DIR": str(runtime_sdk),
            "_HANDLER": configuration["Handler"],
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
    )
    env.update({key: os.environ[key] for key in PASSED_THROUGH if os.environ.get(key)})
    return env


def _layer_version(client: Any, arn: str) -> dict[str, Any]:
    """``GetLayerVersion`` by name and number (the emulator lacks ``GetLayerVersionByArn``)."""
    layer_name, _, number = arn.rpartition(":")
    version: dict[str, Any] = client.get_layer_version(LayerName=layer_name, VersionNumber=int(number))
    return version


@contextlib.contextmanager
def unpacked(
    agent: str, *, outputs: Mapping[str, Any] | None = None, warm: bool = False
) -> Iterator[PackagedFunction]:
    """The deployed function of ``agent``, unpacked from the built zips into a temporary directory.

    ``warm``: serve every invocation from one interpreter (see :meth:`PackagedFunction.invoke`).
    """
    try:
        stack = dict(outputs) if outputs is not None else terraform_outputs()
    except StackError as exc:
        raise InvokeError(str(exc)) from exc
    names: Mapping[str, str] = stack.get("function_names") or {}
    if agent not in names:
        raise InvokeError(
            f"no deployed function for {agent!r}; deployed: {', '.join(sorted(names)) or 'none'}"
        )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or str(stack["region"])
    from botocore.exceptions import BotoCoreError, ClientError

    client = _lambda_client(region)
    try:
        configuration = client.get_function_configuration(FunctionName=names[agent])
        layers = [_layer_version(client, layer["Arn"]) for layer in configuration.get("Layers", [])]
    except (BotoCoreError, ClientError) as exc:
        raise InvokeError(f"cannot read the configuration of {names[agent]}: {exc}") from exc
    runtime = configuration["Runtime"]
    packages = build_dir() / runtime
    function_zip = packages / "functions" / f"{agent}.zip"
    _check_deployed(function_zip, configuration.get("CodeSha256"), f"code of {names[agent]}")
    if len(layers) != 1:
        raise InvokeError(
            f"{names[agent]} has {len(layers)} layers; the AutoNinja layer should be its only one"
        )
    layer_zip = packages / "layer.zip"
    _check_deployed(layer_zip, layers[0].get("Content", {}).get("CodeSha256"), "layer")
    runtime_sdk = build_dir() / "runtime" / runtime
    if not runtime_sdk.is_dir():
        raise InvokeError(f"{runtime_sdk} does not exist: install the runtime's SDK with `make runtime-sdk`")
    python = interpreter_for(runtime)
    with tempfile.TemporaryDirectory(prefix=f"autoninja-{agent}-") as scratch:
        root = Path(scratch)
        _extract(function_zip, root / "task")
        _extract(layer_zip, root / "opt")
        function = PackagedFunction(
            agent=agent,
            configuration=dict(configuration),
            root=root,
            runtime_sdk=runtime_sdk.resolve(),
            python=python,
            region=region,
            env=_lambda_env(configuration, root, runtime_sdk.resolve(), region),
            warm=warm,
        )
        try:
            yield function
        finally:
            function.close()


def invoke_packaged(
    agent: str,
    event: Mapping[str, Any],
    *,
    outputs: Mapping[str, Any] | None = None,
    logs: IO[str] | None = sys.stderr,
) -> dict[str, Any]:
    """Run ``agent``'s deployed handler on ``event`` from the built zips; its Bedrock response.

    ``outputs`` are the stack's Terraform outputs (read with ``terraform output`` when omitted); the
    handler's log lines go to ``logs``. Raises :class:`InvokeError` when the handler cannot be run or
    does not answer with a well-formed Bedrock response; a 4xx/5xx envelope is a normal return.
    """
    with unpacked(agent, outputs=outputs) as function:
        return function.invoke(event, logs=logs)


# -- command line ---------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"autoninja invoke: cannot read the event {args.event_file}: {exc}", file=sys.stderr)
        return 1
    try:
        response = invoke_packaged(args.agent, event, logs=None if args.quiet else sys.stderr)
    except InvokeError as exc:
        print(f"autoninja invoke: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``invoke`` to the ``autoninja`` command line."""
    parser = commands.add_parser(
        "invoke",
        help="run a deployed function's handler locally from the built zips",
        description=__doc__,
        epilog="examples:\n"
        "  autoninja invoke solution-architect tests/events/solution-architect/select-services.json\n"
        "  make invoke AGENT=code-generator EVENT=tests/events/code-generator/generate-lambda-code.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("agent", metavar="AGENT", help="the function's agent, e.g. requirements-analyst")
    parser.add_argument("event_file", metavar="EVENT_FILE", help="a Bedrock action-group event (JSON)")
    parser.add_argument("--quiet", action="store_true", help="do not copy the handler's log lines to stderr")
    parser.set_defaults(run=_run)
