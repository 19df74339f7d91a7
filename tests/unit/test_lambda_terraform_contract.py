"""The Lambda modules keep what packaging and the layer rely on, read from the HCL (no Terraform run).

What a user would notice: the handler and runtime the zips are built for, the code tied to the zip's
bytes, tracing on, the settings the layer validates at cold start, and a role that can touch only the
project's table, the bucket's job and dead-letter prefixes, the CMK and its own log group.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.functions import AGENTS
from tests.unit.test_terraform_contract import TERRAFORM, _load, module_calls, resource

SETTINGS_ENV = {
    "AUTONINJA_INFERENCE_TABLE",
    "AUTONINJA_ARTIFACT_BUCKET",
    "AUTONINJA_KMS_KEY_ID",
    "AUTONINJA_LOG_LEVEL",
    "AUTONINJA_AGENT_NAME",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}


def _statements() -> dict[str, dict[str, Any]]:
    document = _load(TERRAFORM / "modules" / "agent_function")["data"]
    policy = next(
        block["aws_iam_policy_document"]["this"]
        for block in document
        if "aws_iam_policy_document" in block and "this" in block["aws_iam_policy_document"]
    )
    found: dict[str, dict[str, Any]] = {}
    for statement in policy.get("statement", []):
        found[statement["sid"]] = statement
    for dynamic in policy.get("dynamic", []):
        content = dynamic["statement"]["content"]
        content = content[0] if isinstance(content, list) else content
        found[content["sid"]] = content
    return found


def test_function_runs_the_packaged_handler_with_tracing_and_the_layer() -> None:
    function = resource("agent_function", "aws_lambda_function")

    assert function["handler"] == "app.lambda_handler"
    assert function["runtime"] == "var.runtime"
    assert function["source_code_hash"] == "filebase64sha256(var.zip_path)"
    assert function["layers"] == ["var.layer_arn"]
    assert function["tracing_config"][0]["mode"] == "Active"
    assert function["kms_key_arn"] == "var.kms_key_arn"


def test_function_environment_carries_every_setting_the_layer_validates() -> None:
    main = (TERRAFORM / "modules" / "agent_function" / "main.tf").read_text()

    for name in SETTINGS_ENV:
        assert f"{name} " in main or f"{name}=" in main, f"{name} is not set on the function"


def test_layer_is_published_from_the_zip_for_the_functions_runtime() -> None:
    layer = resource("lambda_layer", "aws_lambda_layer_version")

    assert layer["source_code_hash"] == "filebase64sha256(var.zip_path)"
    assert layer["compatible_runtimes"] == "var.compatible_runtimes"


def test_log_group_is_the_functions_own_with_retention_and_the_cmk() -> None:
    group = resource("agent_function", "aws_cloudwatch_log_group")

    assert group["name"] == "local.log_group_name"
    assert group["kms_key_id"] == "var.kms_key_arn"
    assert group["retention_in_days"] == "var.log_retention_days"


def test_role_reaches_only_the_table_the_job_prefixes_the_key_and_its_log_group() -> None:
    statements = _statements()

    assert statements["InferenceRecords"]["resources"] == ["var.table_arn"]
    assert statements["InferenceRecordIndexes"]["resources"] == ["${var.table_arn}/index/*"]
    assert statements["JobArtifacts"]["resources"] == ["${local.job_objects}/*"]
    assert statements["ReadJobArtifacts"]["resources"] == ["${local.job_objects}/*"]
    assert statements["DeadLetters"]["resources"] == ["local.dead_letter_objects"]
    assert statements["EncryptWithTheProjectKey"]["resources"] == ["var.kms_key_arn"]
    assert statements["OwnLogGroup"]["resources"] == ["${local.log_group_arn}:*"]
    for sid, statement in statements.items():
        actions = statement["actions"]
        assert not [a for a in actions if a.endswith(":*") or a == "*"], f"{sid} grants a wildcard action"
        if "*" in statement["resources"]:
            assert sid == "XRayTraces", f"{sid} is not scoped to a resource"


def test_role_writes_objects_only_with_sse_kms_and_the_cmk() -> None:
    statements = _statements()
    writes = {sid: s for sid, s in statements.items() if "s3:PutObject" in s["actions"]}

    assert set(writes) == {"JobArtifacts", "DeadLetters"}
    for sid, statement in writes.items():
        conditions = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
        assert conditions == {
            ("StringEquals", "s3:x-amz-server-side-encryption"): ["aws:kms"],
            ("StringEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id"): ["var.kms_key_arn"],
        }, f"{sid} lets the role write without the project's key"


def test_deploy_rights_are_scoped_to_the_stack_prefix_and_cloudformation() -> None:
    statements = _statements()
    main = (TERRAFORM / "modules" / "agent_function" / "main.tf").read_text()

    assert "stack/${var.deploy_permissions.stack_name_prefix}*/*" in main
    created = statements["StackResourcesThroughCloudFormationOnly"]
    condition = created["condition"][0]
    assert (condition["variable"], condition["values"]) == (
        "aws:CalledViaFirst",
        ["cloudformation.amazonaws.com"],
    )
    assert statements["PassTheAgentRoleToBedrock"]["resources"] == ["statement.value"]


@pytest.mark.parametrize("environment", ["local", "aws"])
def test_environment_deploys_five_functions_on_one_layer(environment: str) -> None:
    calls = module_calls(environment)
    functions = calls["functions"]

    assert functions["source"] == "../../modules/agent_function"
    assert functions["layer_arn"] == "module.layer.arn"
    assert functions["runtime"] == "var.lambda_runtime"
    assert calls["layer"]["compatible_runtimes"] == ["var.lambda_runtime"]
    locals_ = _load(TERRAFORM / "environments" / environment)["locals"]
    agents = next(block["agents"] for block in locals_ if "agents" in block)
    for agent in AGENTS:
        assert agent in agents


def test_bedrock_agents_are_on_in_aws_and_off_locally() -> None:
    variables = {
        env: next(
            block["enable_bedrock_agents"]
            for block in _load(TERRAFORM / "environments" / env)["variable"]
            if "enable_bedrock_agents" in block
        )
        for env in ("local", "aws")
    }

    assert variables["aws"]["default"] is True
    assert variables["local"]["default"] is False
