"""Packaging without pip or a stack: reproducible zips, what a function zip holds, the CLI's contract.

The full builds (pip for Lambda's platform) and their reproducibility run in the packaging tier.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from autoninja_cli import main as cli
from autoninja_cli.invoke import bedrock_response_problem, interpreter_for
from autoninja_cli.packaging import (
    FUNCTION_EXCLUDES,
    PackagingError,
    build_function,
    python_version,
    sha256_hex,
    write_zip,
)
from tests.support.functions import FUNCTIONS_DIR


def _tree(root: Path, files: dict[str, str], mtime: int) -> list[tuple[str, Path]]:
    entries = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
        os.utime(path, (mtime, mtime))
        entries.append((name, path))
    return entries


def test_same_content_gives_the_same_bytes_whatever_the_order_times_and_modes(tmp_path: Path) -> None:
    files = {"b/mod.py": "x = 1\n", "a.py": "print('a')\n", "b/data.json": "{}\n"}
    first = _tree(tmp_path / "one", files, mtime=1_700_000_000)
    second = list(reversed(_tree(tmp_path / "two", files, mtime=1_800_000_000)))

    one = write_zip(first, tmp_path / "one.zip")
    two = write_zip(second, tmp_path / "two.zip")

    assert sha256_hex(one) == sha256_hex(two)
    infos = zipfile.ZipFile(one).infolist()
    assert [i.filename for i in infos] == ["a.py", "b/data.json", "b/mod.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_different_content_gives_different_bytes(tmp_path: Path) -> None:
    one = write_zip(_tree(tmp_path / "one", {"a.py": "x = 1\n"}, 0), tmp_path / "one.zip")
    two = write_zip(_tree(tmp_path / "two", {"a.py": "x = 2\n"}, 0), tmp_path / "two.zip")

    assert sha256_hex(one) != sha256_hex(two)


@pytest.mark.parametrize("agent", sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/app.py")))
def test_function_zip_has_app_py_at_its_root_and_no_schema_or_bytecode(agent: str, tmp_path: Path) -> None:
    names = zipfile.ZipFile(build_function(agent, tmp_path / f"{agent}.zip")).namelist()

    assert "app.py" in names
    assert not set(names) & set(FUNCTION_EXCLUDES)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("autoninja/")]


def test_unknown_function_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="no function 'nobody'"):
        build_function("nobody", tmp_path / "nobody.zip")


@pytest.mark.parametrize(("runtime", "version"), [("python3.12", "3.12"), ("python3.9", "3.9")])
def test_runtime_names_give_python_versions(runtime: str, version: str) -> None:
    assert python_version(runtime) == version


@pytest.mark.parametrize("runtime", ["nodejs20.x", "python3", "python2.7", "python3.12 "])
def test_non_python3_runtimes_are_refused(runtime: str) -> None:
    with pytest.raises(PackagingError):
        python_version(runtime)


def test_local_runs_use_this_interpreter_for_its_own_version() -> None:
    import sys

    assert interpreter_for(f"python{sys.version_info.major}.{sys.version_info.minor}") == sys.executable


GOOD = {
    "messageVersion": "1.0",
    "response": {
        "actionGroup": "code-generator-actions",
        "apiPath": "/generate-lambda-code",
        "httpMethod": "POST",
        "httpStatusCode": 422,
        "responseBody": {"application/json": {"body": "{}"}},
    },
}


def test_an_error_envelope_is_a_well_formed_bedrock_response() -> None:
    assert bedrock_response_problem(GOOD) is None


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ({**GOOD, "messageVersion": "2.0"}, "messageVersion"),
        ({**GOOD, "response": {**GOOD["response"], "httpStatusCode": "200"}}, "httpStatusCode"),
        ({**GOOD, "response": {**GOOD["response"], "apiPath": None}}, "apiPath"),
        ({"messageVersion": "1.0"}, "no response object"),
        (["not", "an", "object"], "not an object"),
    ],
)
def test_malformed_responses_are_named(broken: object, problem: str) -> None:
    assert problem in (bedrock_response_problem(broken) or "")


def test_cli_registers_invoke_as_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["invoke", "--help"])

    assert exit_info.value.code == 0
    assert "AGENT" in capsys.readouterr().out


def test_cli_without_a_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])

    assert exit_info.value.code == 2
