"""Generate each function's OpenAPI schema from its code: ``functions/<agent>/openapi.json``.

The schema is what Powertools' ``BedrockAgentResolver`` derives from the function's routes and
pydantic models (``app.get_openapi_json_schema``), so the operations, fields and descriptions Bedrock
shows the agent are exactly the ones the handler validates. The files are committed: Terraform passes
them to the Bedrock action groups, and a unit test fails when one is stale.

Each ``app.py`` is imported the way the unit tier imports it (``tests/support/functions.py``): from
its file, under its own module name ``autoninja_fn_<agent>``. Its settings are read at import, so
placeholder values are set for the duration of the import where the environment has none; nothing
is called.

Usage::

    python -m autoninja_cli.schemas            # write every functions/<agent>/openapi.json
    python -m autoninja_cli.schemas --check    # exit 1 naming each stale or missing schema
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
SCHEMA_FILE = "openapi.json"

#: Placeholders for the settings a function validates at import; no AWS call is made with them.
PLACEHOLDER_ENV = {
    "AUTONINJA_INFERENCE_TABLE": "autoninja-schema-inference-records",
    "AUTONINJA_ARTIFACT_BUCKET": "autoninja-schema-artifacts",
    "AUTONINJA_KMS_KEY_ID": "alias/autoninja-schema",
    "POWERTOOLS_METRICS_NAMESPACE": "AutoNinja",
}


def agents() -> list[str]:
    """The agents whose function exists (``functions/<agent>/app.py``), sorted."""
    return sorted(path.parent.name for path in FUNCTIONS_DIR.glob("*/app.py"))


@contextlib.contextmanager
def _placeholder_settings() -> Iterator[None]:
    missing = {name: value for name, value in PLACEHOLDER_ENV.items() if name not in os.environ}
    os.environ.update(missing)
    try:
        yield
    finally:
        for name in missing:
            os.environ.pop(name, None)


def load_app_module(agent: str) -> ModuleType:
    """Import ``functions/<agent>/app.py`` afresh as ``autoninja_fn_<agent>`` and return the module."""
    path = FUNCTIONS_DIR / agent / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no function {agent!r}: {path} does not exist")
    name = f"autoninja_fn_{agent.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the module's postponed annotations there
    try:
        with _placeholder_settings():
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _description(module: ModuleType) -> str:
    """The first paragraph of the module's docstring, on one line."""
    first = (module.__doc__ or "").strip().split("\n\n", 1)[0]
    return " ".join(first.split())


def generate(agent: str) -> str:
    """The OpenAPI schema of ``agent``'s function as the text committed in ``openapi.json``."""
    from autoninja import __version__

    module = load_app_module(agent)
    raw = module.app.get_openapi_json_schema(
        title=f"AutoNinja {agent} actions",
        version=__version__,
        description=_description(module),
    )
    return json.dumps(json.loads(raw), indent=2, ensure_ascii=False) + "\n"


def schema_path(agent: str) -> Path:
    """Where ``agent``'s committed schema lives."""
    return FUNCTIONS_DIR / agent / SCHEMA_FILE


def stale(agent: str) -> bool:
    """Whether the committed schema of ``agent`` is missing or differs from its code's."""
    path = schema_path(agent)
    return not path.is_file() or path.read_text(encoding="utf-8") != generate(agent)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, verify) the schema of every function, or of the agents named."""
    parser = argparse.ArgumentParser(prog="python -m autoninja_cli.schemas", description=__doc__)
    parser.add_argument("agents", nargs="*", help="agents to do (default: every function)")
    parser.add_argument("--check", action="store_true", help="only report stale or missing schemas")
    args = parser.parse_args(argv)
    problems = 0
    for agent in args.agents or agents():
        text = generate(agent)
        path = schema_path(agent)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            print(f"schema {path.relative_to(REPO_ROOT)}: up to date")
        elif args.check:
            print(f"schema {path.relative_to(REPO_ROOT)}: stale (run `make schemas`)", file=sys.stderr)
            problems += 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"schema {path.relative_to(REPO_ROOT)}: written")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
