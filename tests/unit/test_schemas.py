"""The committed OpenAPI schemas (functions/<agent>/openapi.json) are the ones the code generates.

Terraform hands these files to the Bedrock action groups, so a stale file means the agent is told about
operations or fields the handler no longer validates the same way. Regenerate with ``make schemas``.
"""

from __future__ import annotations

import json

import pytest

from autoninja_cli import schemas


@pytest.mark.parametrize("agent", schemas.agents())
def test_committed_schema_is_what_the_code_generates(agent: str) -> None:
    committed = schemas.schema_path(agent)
    assert committed.is_file(), f"{committed} is missing: run `make schemas` and commit it"

    generated = schemas.generate(agent)

    assert committed.read_text(encoding="utf-8") == generated, (
        f"{committed} is stale: run `make schemas` and commit it"
    )


@pytest.mark.parametrize("agent", schemas.agents())
def test_schema_is_openapi_3_0_with_every_operation_a_post(agent: str) -> None:
    document = json.loads(schemas.schema_path(agent).read_text(encoding="utf-8"))

    assert document["openapi"].startswith("3.0.")  # what Bedrock agents accept
    assert document["paths"], "no operations"
    for path, methods in document["paths"].items():
        assert set(methods) == {"post"}, path
        assert methods["post"].get("description"), f"{path} has no description for the agent"
