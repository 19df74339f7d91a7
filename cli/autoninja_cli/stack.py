"""Where the local stack is: Terraform's outputs for the environment the Makefile applied.

The Makefile exports ``AUTONINJA_TF_DIR`` (the environment) and ``TF_DATA_DIR`` (that stack's
Terraform data, one per emulator port). Run by hand with only ``AWS_ENDPOINT_URL`` set, the data
directory is found from the endpoint's port (``.local/<port>/terraform``), the way ``make up`` lays
it out.

Example::

    outputs = terraform_outputs()
    outputs["function_names"]["code-generator"]     # "autoninja-local-code-generator"
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TF_DIR = "terraform/environments/local"


class StackError(Exception):
    """The stack's outputs cannot be read (not applied, terraform missing, wrong directory)."""


def _data_dir(env: dict[str, str]) -> str | None:
    if env.get("TF_DATA_DIR"):
        return str(Path(env["TF_DATA_DIR"]).resolve())
    port = urlsplit(env.get("AWS_ENDPOINT_URL", "")).port
    if port is not None and (REPO_ROOT / ".local" / str(port) / "terraform").is_dir():
        return str(REPO_ROOT / ".local" / str(port) / "terraform")
    return None


def terraform_outputs(tf_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The output values of the applied environment in ``tf_dir`` (default ``$AUTONINJA_TF_DIR``)."""
    raw_dir = Path(tf_dir or os.environ.get("AUTONINJA_TF_DIR") or DEFAULT_TF_DIR)
    directory = raw_dir if raw_dir.is_absolute() or raw_dir.is_dir() else REPO_ROOT / raw_dir
    terraform = shutil.which("terraform")
    if terraform is None:
        raise StackError("terraform is not on PATH: it is needed to read the stack's outputs")
    env = dict(os.environ)
    data_dir = _data_dir(env)
    if data_dir:
        env["TF_DATA_DIR"] = data_dir
    result = subprocess.run(  # noqa: S603 - terraform from PATH, fixed arguments
        [terraform, f"-chdir={directory}", "output", "-json", "-no-color"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(
            f"`terraform output -json` failed in {directory} (TF_DATA_DIR={data_dir}): "
            f"{result.stderr.strip()}; is the stack applied? (`make up`)"
        )
    outputs = {name: entry["value"] for name, entry in json.loads(result.stdout or "{}").items()}
    if not outputs:
        raise StackError(f"{directory} has no outputs (TF_DATA_DIR={data_dir}): run `make up` first")
    return outputs
