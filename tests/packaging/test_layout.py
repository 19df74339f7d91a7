"""How the functions are packaged and deployed: the layer provides the library, the builds reproduce.

- Each function zip holds only its own folder's code; the ``autoninja`` package, pydantic and
  Powertools are imported from the layer (``/opt/python``), boto3 from the runtime, which a probe run
  in the same fresh-interpreter setup as every invocation reports.
- What Terraform deployed is what was built: handler, runtime, tracing, the settings' environment,
  the one layer, and the code hashes.
- Building twice gives byte-identical zips.
- ``autoninja invoke`` prints the response and exits 0, or one error line and exits 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from autoninja_cli.invoke import build_dir, unpacked
from autoninja_cli.packaging import build_function, build_layer, lambda_code_sha256, sha256_hex
from tests.packaging.test_operations import PIPELINE, agents_with_events
from tests.support.functions import EVENTS_DIR, FUNCTIONS_DIR

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

#: What every handler imports at cold start, from the layer (PyYAML is in it too, imported lazily).
LAYER_PACKAGES = (
    "autoninja",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "aws_lambda_powertools",
)
RUNTIME_PACKAGES = ("boto3", "botocore")
SETTINGS_ENV = (
    "AUTONINJA_INFERENCE_TABLE",
    "AUTONINJA_ARTIFACT_BUCKET",
    "AUTONINJA_KMS_KEY_ID",
    "AUTONINJA_LOG_LEVEL",
    "AUTONINJA_AGENT_NAME",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
)


@pytest.fixture(scope="module")
def lambda_client(stack: dict[str, Any]) -> LambdaClient:
    return boto3.client("lambda", region_name=stack["region"])


def deployed_zip(stack: dict[str, Any], agent: str) -> Path:
    return build_dir() / stack["lambda_runtime"] / "functions" / f"{agent}.zip"


@pytest.mark.parametrize("agent", list(PIPELINE))
def test_function_zip_holds_only_its_own_code(stack: dict[str, Any], agent: str) -> None:
    names = zipfile.ZipFile(deployed_zip(stack, agent)).namelist()

    assert "app.py" in names
    assert not [n for n in names if n.split("/")[0] in (*LAYER_PACKAGES, *RUNTIME_PACKAGES, "yaml", "python")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    shipped = {p.relative_to(FUNCTIONS_DIR / agent).as_posix() for p in (FUNCTIONS_DIR / agent).rglob("*.py")}
    assert set(names) == {n for n in shipped if "__pycache__" not in n}, "the zip differs from the folder"


@pytest.mark.parametrize("agent", list(PIPELINE))
def test_the_handler_imports_the_library_from_the_layer(stack: dict[str, Any], agent: str) -> None:
    # Given the deployed function unpacked the way Lambda lays it out
    with unpacked(agent, outputs=stack) as function:
        # When a probe imports its handler in the same fresh interpreter an invocation uses
        probe = function.probe([*LAYER_PACKAGES, *RUNTIME_PACKAGES, "app"])
        layer, task, runtime = function.opt / "python", function.task, function.runtime_sdk

    # Then the library and its dependencies come from the layer, boto3 from the runtime, app from the task
    modules = {name: Path(path) for name, path in probe["modules"].items() if path}
    assert set(modules) == {*LAYER_PACKAGES, *RUNTIME_PACKAGES, "app"}, probe["modules"]
    for name in LAYER_PACKAGES:
        assert modules[name].is_relative_to(layer), f"{name} imported from {modules[name]}, not the layer"
    for name in RUNTIME_PACKAGES:
        assert modules[name].is_relative_to(runtime), f"{name} imported from {modules[name]}"
    assert modules["app"] == task / "app.py"
    # and the import path is Lambda's: task, layer, standard library, runtime; no site-packages
    path = probe["sys_path"]
    assert path[:2] == [str(task), str(layer)] and path[-1] == str(runtime)
    assert not [entry for entry in path if "site-packages" in entry or entry in ("", ".")], path


@pytest.mark.parametrize("agent", list(PIPELINE))
def test_deployed_configuration_is_the_build_and_the_settings(
    stack: dict[str, Any], lambda_client: LambdaClient, agent: str
) -> None:
    config = lambda_client.get_function_configuration(FunctionName=stack["function_names"][agent])

    assert config["Handler"] == "app.lambda_handler"
    assert config["Runtime"] == stack["lambda_runtime"]
    assert config["TracingConfig"]["Mode"] == "Active"
    assert [layer["Arn"] for layer in config["Layers"]] == [stack["layer_arn"]]
    assert config["CodeSha256"] == lambda_code_sha256(deployed_zip(stack, agent))
    env = config["Environment"]["Variables"]
    assert set(SETTINGS_ENV) <= set(env)
    assert env["AUTONINJA_AGENT_NAME"] == env["POWERTOOLS_SERVICE_NAME"] == agent
    assert env["AUTONINJA_INFERENCE_TABLE"] == stack["inference_table_name"]
    assert env["AUTONINJA_ARTIFACT_BUCKET"] == stack["artifact_bucket_name"]
    assert env["AUTONINJA_KMS_KEY_ID"] == stack["kms_key_arn"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "AutoNinja"
    assert ("AUTONINJA_DEPLOY_STACK_PREFIX" in env) is (agent == "deployment-manager")


def test_layer_build_is_reproducible(stack: dict[str, Any], tmp_path: Path) -> None:
    # Given the same sources, When the layer is built twice from scratch
    first = build_layer(stack["lambda_runtime"], tmp_path / "first" / "layer.zip")
    second = build_layer(stack["lambda_runtime"], tmp_path / "second" / "layer.zip")

    # Then the two zips are byte-identical, and identical to the one make built and Terraform deployed
    assert sha256_hex(first) == sha256_hex(second)
    built_by_make = build_dir() / stack["lambda_runtime"] / "layer.zip"
    assert sha256_hex(first) == sha256_hex(built_by_make), "the layer sources changed since `make up`"
    names = zipfile.ZipFile(first).namelist()
    assert names == sorted(names) and all(n.startswith("python/") for n in names)
    assert not [n for n in names if n.split("/")[1] in ("boto3", "botocore", "s3transfer", "bin")]


@pytest.mark.parametrize("agent", agents_with_events())
def test_function_build_is_reproducible(stack: dict[str, Any], tmp_path: Path, agent: str) -> None:
    first = build_function(agent, tmp_path / "first.zip")
    second = build_function(agent, tmp_path / "second.zip")

    assert sha256_hex(first) == sha256_hex(second) == sha256_hex(deployed_zip(stack, agent))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    autoninja = Path(sys.executable).with_name("autoninja")
    return subprocess.run(
        [str(autoninja), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
        check=False,
    )


def test_cli_prints_the_response_and_exits_0_even_for_an_error_envelope() -> None:
    result = _cli(
        "invoke",
        "--quiet",
        "requirements-analyst",
        str(EVENTS_DIR / "requirements-analyst" / "invalid" / "unknown-api-path.json"),
    )

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["response"]["httpStatusCode"] == 404


def test_cli_fails_with_one_line_for_an_unknown_agent(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{}")

    result = _cli("invoke", "no-such-agent", str(event))

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "no-such-agent" in result.stderr
