"""Build the Lambda artifacts: the layer zip, one zip per function, and the local runtime SDK folder.

- ``layer``: ``python/`` at the zip root holding the ``autoninja`` package and its pinned runtime
  dependencies (``requirements/layer.txt``, transitive pins in ``requirements/layer-constraints.txt``),
  installed with pip for the Lambda platform (manylinux2014_x86_64, CPython, the runtime's version,
  wheels only). boto3/botocore are not shipped: the Lambda runtime has them.
- ``function``: the content of ``functions/<agent>/`` with ``app.py`` at the zip root, nothing from
  the layer. ``openapi.json`` is left out: Bedrock reads the schema from the agent's action group
  (Terraform passes the committed file), the handler never reads it.
- ``runtime``: the AWS SDK the Lambda runtime bundles (``requirements/runtime.txt``), installed into a
  plain folder for local invocation (``autoninja invoke``); never deployed.

Every zip is **reproducible**: the same inputs give byte-identical bytes (entries sorted, timestamps
1980-01-01 00:00:00, permissions 0644, no ``__pycache__``/``*.pyc``, no pip ``RECORD`` files, no
console scripts, whose shebang would name this machine's interpreter).

Usage (the Makefile is the normal entry point)::

    python -m autoninja_cli.packaging layer --runtime python3.12 --output build/python3.12/layer.zip
    python -m autoninja_cli.packaging function --agent code-generator \
        --output build/python3.12/functions/code-generator.zip
    python -m autoninja_cli.packaging runtime --runtime python3.11 --output build/runtime/python3.11
    python -m autoninja_cli.packaging report --zip build/python3.12/layer.zip     # P4 size line
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = REPO_ROOT / "layer" / "autoninja"
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_REQUIREMENTS = REPO_ROOT / "requirements" / "layer.txt"
LAYER_CONSTRAINTS = REPO_ROOT / "requirements" / "layer-constraints.txt"
RUNTIME_REQUIREMENTS = REPO_ROOT / "requirements" / "runtime.txt"

#: The platform Lambda's x86_64 Python runtimes run on (Amazon Linux 2023 / 2, glibc >= 2.17).
PLATFORM = "manylinux2014_x86_64"
#: The fixed timestamp of every zip entry (the earliest a zip can hold).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
#: P4: the layer zip should stay within this many bytes (10 MB).
LAYER_SIZE_TARGET_BYTES = 10_000_000
#: Packages the Lambda runtime provides; the layer must never carry them.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
#: Files a function zip never holds: build noise, and the schema Bedrock gets from Terraform.
FUNCTION_EXCLUDES = ("openapi.json",)
_RUNTIME_RE = re.compile(r"^python(3)\.(\d+)$")


class PackagingError(Exception):
    """A package cannot be built as asked (bad runtime, missing function, forbidden content)."""


def python_version(runtime: str) -> str:
    """``"3.12"`` for the Lambda runtime identifier ``"python3.12"``."""
    match = _RUNTIME_RE.match(runtime)
    if not match:
        raise PackagingError(f"{runtime!r} is not a Lambda Python runtime such as python3.12")
    return f"{match.group(1)}.{match.group(2)}"


def _skipped(relative: Path) -> bool:
    parts = relative.parts
    return (
        "__pycache__" in parts
        or relative.suffix in (".pyc", ".pyo")
        or (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD")
    )


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(posix path relative to root, file)`` for every file under ``root`` worth shipping."""
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not _skipped(relative):
            yield relative.as_posix(), path


def write_zip(entries: Iterable[tuple[str, Path]], output: Path) -> Path:
    """Write ``entries`` (archive name, file) to ``output`` reproducibly; return ``output``.

    Names are sorted; every entry gets the same timestamp, permissions and creator system, and the
    same compression, so the bytes depend only on the names and contents. The zip is written next to
    ``output`` and moved into place, so an interrupted build never leaves a half-written zip behind.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    by_name = dict(entries)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(by_name):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix, whatever the build machine
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, by_name[name].read_bytes(), compresslevel=9)
    partial.replace(output)
    return output


def pip_install_target(
    target: Path,
    *,
    runtime: str,
    requirements: Path,
    constraints: Path | None = None,
    compile_bytecode: bool = False,
) -> None:
    """``pip install --target`` the pinned ``requirements`` as wheels for Lambda's platform.

    Bytecode is compiled only on request (the runtime SDK, which Lambda ships compiled): pip's
    ``.pyc`` files embed source timestamps and the build interpreter's version.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--compile" if compile_bytecode else "--no-compile",
        "--no-warn-script-location",
        "--target",
        str(target),
        "--platform",
        PLATFORM,
        "--python-version",
        python_version(runtime),
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "-r",
        str(requirements),
    ]
    if constraints is not None:
        command += ["-c", str(constraints)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our pip
    if result.returncode != 0:
        raise PackagingError(f"pip install for {runtime} failed:\n{result.stdout}{result.stderr}")


def build_layer(runtime: str, output: Path) -> Path:
    """Build the layer zip for ``runtime``: ``python/autoninja`` plus its pinned dependencies."""
    with tempfile.TemporaryDirectory(prefix="autoninja-layer-") as scratch:
        python = Path(scratch) / "python"
        pip_install_target(
            python, runtime=runtime, requirements=LAYER_REQUIREMENTS, constraints=LAYER_CONSTRAINTS
        )
        shutil.rmtree(python / "bin", ignore_errors=True)  # console scripts: shebangs name this machine
        shipped = [name for name in RUNTIME_PROVIDED if (python / name).exists()]
        if shipped:
            raise PackagingError(
                f"the layer would ship {', '.join(shipped)}, which the Lambda runtime provides; "
                "remove what pulls them in from requirements/layer.txt"
            )
        if (python / "autoninja").exists():
            raise PackagingError("a dependency installed a package named autoninja into the layer")
        entries = [(f"python/{name}", path) for name, path in _files(python)]
        entries += [(f"python/autoninja/{name}", path) for name, path in _files(LAYER_SOURCE)]
        return write_zip(entries, output)


def function_source(agent: str) -> Path:
    """The folder of ``agent``'s function; it must hold ``app.py``."""
    folder = FUNCTIONS_DIR / agent
    if not (folder / "app.py").is_file():
        raise PackagingError(f"no function {agent!r}: {folder / 'app.py'} does not exist")
    return folder


def build_function(agent: str, output: Path) -> Path:
    """Build ``agent``'s function zip: its folder's files with ``app.py`` at the root."""
    entries = [(name, path) for name, path in _files(function_source(agent)) if name not in FUNCTION_EXCLUDES]
    if any(name == "autoninja" or name.startswith("autoninja/") for name, _ in entries):
        raise PackagingError(f"functions/{agent} holds a copy of autoninja/: the layer provides it")
    return write_zip(entries, output)


def install_runtime_sdk(runtime: str, output: Path) -> Path:
    """Install the SDK the Lambda runtime bundles into ``output`` (replaced whole) for local runs."""
    with tempfile.TemporaryDirectory(prefix="autoninja-runtime-", dir=output.parent.as_posix()) as scratch:
        staging = Path(scratch) / "sdk"
        # Compiled like the SDK in Lambda's runtime image, when this interpreter is the runtime's.
        same_python = python_version(runtime) == f"{sys.version_info.major}.{sys.version_info.minor}"
        pip_install_target(
            staging, runtime=runtime, requirements=RUNTIME_REQUIREMENTS, compile_bytecode=same_python
        )
        shutil.rmtree(staging / "bin", ignore_errors=True)
        if output.exists():
            shutil.rmtree(output)
        staging.replace(output)
    return output


def sha256_hex(path: Path) -> str:
    """Hex sha256 of a file (what the reproducibility test compares)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lambda_code_sha256(path: Path) -> str:
    """Base64 sha256 of a zip: the ``CodeSha256`` Lambda reports for it (and Terraform's hash)."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def layer_size_report(path: Path) -> str:
    """The P4 line for a layer zip: its size against :data:`LAYER_SIZE_TARGET_BYTES`."""
    size = path.stat().st_size
    verdict = "ok" if size <= LAYER_SIZE_TARGET_BYTES else "OVER TARGET"
    return (
        f"P4: layer zip {path}: {size / 1_000_000:.2f} MB ({size} bytes), "
        f"target <= {LAYER_SIZE_TARGET_BYTES / 1_000_000:.0f} MB {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point used by the Makefile."""
    parser = argparse.ArgumentParser(prog="python -m autoninja_cli.packaging", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    layer = sub.add_parser("layer", help="build the layer zip")
    layer.add_argument("--runtime", required=True)
    layer.add_argument("--output", type=Path, required=True)
    function = sub.add_parser("function", help="build one function's zip")
    function.add_argument("--agent", required=True)
    function.add_argument("--output", type=Path, required=True)
    runtime = sub.add_parser("runtime", help="install the runtime's SDK for local invocation")
    runtime.add_argument("--runtime", required=True)
    runtime.add_argument("--output", type=Path, required=True)
    report = sub.add_parser("report", help="print the P4 size line of a layer zip")
    report.add_argument("--zip", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "layer":
            built = build_layer(args.runtime, args.output)
            size = built.stat().st_size
            print(f"layer {built}: {size / 1_000_000:.2f} MB, sha256 {sha256_hex(built)[:16]}")
        elif args.command == "function":
            built = build_function(args.agent, args.output)
            print(f"function {built}: {built.stat().st_size} bytes, sha256 {sha256_hex(built)[:16]}")
        elif args.command == "report":
            print(layer_size_report(args.zip))
        else:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            print(f"runtime sdk {install_runtime_sdk(args.runtime, args.output)}")
    except PackagingError as exc:
        print(f"packaging: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
