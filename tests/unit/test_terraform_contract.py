"""The Terraform modules keep the storage contract the layer relies on.

These tests read the HCL itself (python-hcl2), so they run without Terraform, a provider or a network.
They check what a user of the stack would notice: the table's keys and index names the layer queries,
encryption of every storage resource with the project's customer-managed key, and the bucket's guards.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
MODULES = TERRAFORM / "modules"
ENVIRONMENTS = ("local", "aws")


# --- reading HCL ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """python-hcl2 output without its markers: quotes off literals, ``${...}`` off bare expressions.

    ``"\\"job_name\\""`` becomes ``"job_name"``, ``"${var.kms_key_arn}"`` becomes ``"var.kms_key_arn"``;
    ``"\\"alias/${var.name}\\""`` (a template) becomes ``"alias/${var.name}"``.
    """
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        if value.startswith("${") and value.endswith("}") and value.count("${") == 1:
            return value[2:-1]
    return value


@cache
def _load(directory: Path) -> dict[str, list[Any]]:
    """Every top-level block of every ``*.tf`` file in ``directory``, merged by block type."""
    files = sorted(directory.glob("*.tf"))
    assert files, f"no .tf files in {directory}"
    merged: dict[str, list[Any]] = {}
    for path in files:
        with path.open() as handle:
            parsed = _plain(hcl2.load(handle))
        for block_type, blocks in parsed.items():
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def _labelled(directory: Path, block_type: str, kind: str) -> dict[str, dict[str, Any]]:
    """``resource``/``data`` blocks of one type, by name."""
    found: dict[str, dict[str, Any]] = {}
    for block in _load(directory).get(block_type, []):
        for name, body in block.get(kind, {}).items():
            found[name] = body
    return found


def resource(module: str, kind: str, name: str = "this") -> dict[str, Any]:
    bodies = _labelled(MODULES / module, "resource", kind)
    assert name in bodies, f"{module}: no resource {kind}.{name} (found {sorted(bodies)})"
    return bodies[name]


def data(module: str, kind: str, name: str = "this") -> dict[str, Any]:
    bodies = _labelled(MODULES / module, "data", kind)
    assert name in bodies, f"{module}: no data {kind}.{name} (found {sorted(bodies)})"
    return bodies[name]


def locals_of(module: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _load(MODULES / module).get("locals", []):
        merged.update(block)
    return merged


def variables_of(directory: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in _load(directory).get("variable", []):
        found.update(block)
    return found


def outputs_of(directory: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in _load(directory).get("output", []):
        found.update(block)
    return found


def module_calls(environment: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in _load(TERRAFORM / "environments" / environment).get("module", []):
        found.update(block)
    return found


def single(blocks: list[dict[str, Any]], what: str) -> dict[str, Any]:
    assert len(blocks) == 1, f"expected exactly one {what}, found {len(blocks)}"
    return blocks[0]


# --- inference_store: the table --------------------------------------------------------------------


def test_table_keys_are_job_name_and_record_id() -> None:
    table = resource("inference_store", "aws_dynamodb_table")

    assert table["hash_key"] == "job_name"
    assert table["range_key"] == "record_id"
    assert table["billing_mode"] == "PAY_PER_REQUEST"


def test_table_declares_exactly_the_key_attributes_as_strings() -> None:
    table = resource("inference_store", "aws_dynamodb_table")

    attributes = {a["name"]: a["type"] for a in table["attribute"]}

    assert attributes == {
        "job_name": "S",
        "record_id": "S",
        "session_id": "S",
        "agent_name": "S",
        "timestamp": "S",
    }


def test_table_has_both_gsis_with_their_exact_names_keys_and_full_projection() -> None:
    table = resource("inference_store", "aws_dynamodb_table")
    names = locals_of("inference_store")

    def resolve(name: str) -> str:
        return names[name.removeprefix("local.")] if name.startswith("local.") else name

    indexes = {
        resolve(gsi["name"]): (gsi["hash_key"], gsi["range_key"], gsi["projection_type"])
        for gsi in table["global_secondary_index"]
    }

    assert indexes == {
        "SessionIdIndex": ("session_id", "timestamp", "ALL"),
        "AgentNameTimestampIndex": ("agent_name", "timestamp", "ALL"),
    }


def test_table_has_point_in_time_recovery() -> None:
    table = resource("inference_store", "aws_dynamodb_table")

    assert single(table["point_in_time_recovery"], "point_in_time_recovery")["enabled"] is True


def test_table_is_encrypted_with_the_required_kms_key_input() -> None:
    table = resource("inference_store", "aws_dynamodb_table")
    sse = single(table["server_side_encryption"], "server_side_encryption")
    kms_key_arn = variables_of(MODULES / "inference_store")["kms_key_arn"]

    assert sse == {"enabled": True, "kms_key_arn": "var.kms_key_arn"}
    # Required: a caller cannot forget the key and silently get an AWS-owned one.
    assert "default" not in kms_key_arn
    assert "validation" in kms_key_arn


def test_table_ttl_is_off_unless_an_attribute_is_named() -> None:
    table = resource("inference_store", "aws_dynamodb_table")
    ttl_variable = variables_of(MODULES / "inference_store")["ttl_attribute_name"]

    assert "ttl" not in table, "a static ttl block would always be on; it must be dynamic"
    dynamic_ttl = single([d["ttl"] for d in table.get("dynamic", []) if "ttl" in d], "dynamic ttl")
    assert "var.ttl_attribute_name == null ? []" in dynamic_ttl["for_each"]
    assert ttl_variable["default"] is None


def test_table_deletion_protection_defaults_to_on() -> None:
    table = resource("inference_store", "aws_dynamodb_table")

    assert table["deletion_protection_enabled"] == "var.deletion_protection"
    assert variables_of(MODULES / "inference_store")["deletion_protection"]["default"] is True


# --- artifact_store: the bucket ---------------------------------------------------------------------


def test_bucket_default_encryption_is_the_cmk_with_a_bucket_key() -> None:
    sse = resource("artifact_store", "aws_s3_bucket_server_side_encryption_configuration")
    rule = single(sse["rule"], "encryption rule")
    default = single(rule["apply_server_side_encryption_by_default"], "default encryption")

    assert sse["bucket"] == "aws_s3_bucket.this.id"
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "var.kms_key_arn"}
    assert rule["bucket_key_enabled"] is True
    assert "default" not in variables_of(MODULES / "artifact_store")["kms_key_arn"]


def test_bucket_blocks_every_kind_of_public_access() -> None:
    block = resource("artifact_store", "aws_s3_bucket_public_access_block")

    assert block["bucket"] == "aws_s3_bucket.this.id"
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, flag


def test_bucket_is_versioned_and_owner_enforced() -> None:
    versioning = resource("artifact_store", "aws_s3_bucket_versioning")
    ownership = resource("artifact_store", "aws_s3_bucket_ownership_controls")

    assert single(versioning["versioning_configuration"], "versioning")["status"] == "Enabled"
    assert single(ownership["rule"], "ownership rule")["object_ownership"] == "BucketOwnerEnforced"


def test_bucket_lifecycle_expires_noncurrent_versions_and_aborts_uploads_for_every_object() -> None:
    lifecycle = resource("artifact_store", "aws_s3_bucket_lifecycle_configuration")
    rule = single(lifecycle["rule"], "lifecycle rule")
    variables = variables_of(MODULES / "artifact_store")

    assert rule["status"] == "Enabled"
    assert rule["filter"] == [{}], "an empty filter block applies the rule to every object"
    assert "prefix" not in rule
    assert single(rule["noncurrent_version_expiration"], "noncurrent expiration")["noncurrent_days"] == (
        "var.noncurrent_version_expiration_days"
    )
    assert variables["noncurrent_version_expiration_days"]["default"] == 90
    abort = single(rule["abort_incomplete_multipart_upload"], "abort incomplete uploads")
    assert abort["days_after_initiation"] == "var.abort_incomplete_multipart_upload_days"
    assert variables["abort_incomplete_multipart_upload_days"]["default"] == 7
    assert variables["force_destroy"]["default"] is False


def _bucket_policy_statements() -> list[dict[str, Any]]:
    policy = resource("artifact_store", "aws_s3_bucket_policy")
    assert policy["policy"] == "data.aws_iam_policy_document.this.json"
    return data("artifact_store", "aws_iam_policy_document")["statement"]


def test_bucket_policy_denies_requests_without_tls() -> None:
    statements = _bucket_policy_statements()

    tls = [
        s
        for s in statements
        if s["effect"] == "Deny"
        and {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]} in s["condition"]
    ]

    assert len(tls) == 1
    assert tls[0]["actions"] == ["s3:*"]
    assert sorted(tls[0]["resources"]) == sorted(["aws_s3_bucket.this.arn", "${aws_s3_bucket.this.arn}/*"])
    assert tls[0]["principals"] == [{"type": "*", "identifiers": ["*"]}]


def test_bucket_policy_denies_uploads_not_encrypted_with_kms() -> None:
    statements = _bucket_policy_statements()

    kms = [
        s
        for s in statements
        if s["effect"] == "Deny"
        and any(
            c["variable"] == "s3:x-amz-server-side-encryption"
            and c["test"] in ("StringNotEquals", "StringNotEqualsIfExists")
            and c["values"] == ["aws:kms"]
            for c in s["condition"]
        )
    ]

    assert len(kms) == 1
    assert kms[0]["actions"] == ["s3:PutObject"]
    assert kms[0]["resources"] == ["${aws_s3_bucket.this.arn}/*"]


def test_bucket_policy_denies_uploads_encrypted_with_another_kms_key() -> None:
    statements = _bucket_policy_statements()

    other_key = [
        s
        for s in statements
        if s["effect"] == "Deny"
        and {
            "test": "StringNotEqualsIfExists",
            "variable": "s3:x-amz-server-side-encryption-aws-kms-key-id",
            "values": ["var.kms_key_arn"],
        }
        in s["condition"]
    ]

    assert len(other_key) == 1
    assert other_key[0]["actions"] == ["s3:PutObject"]


# --- kms: the customer-managed key -----------------------------------------------------------------


def test_kms_key_is_symmetric_with_rotation_on() -> None:
    key = resource("kms", "aws_kms_key")
    alias = resource("kms", "aws_kms_alias")

    assert key["enable_key_rotation"] is True
    assert key["customer_master_key_spec"] == "SYMMETRIC_DEFAULT"
    assert key["key_usage"] == "ENCRYPT_DECRYPT"
    assert key["policy"] == "data.aws_iam_policy_document.this.json"
    assert alias == {"name": "alias/${var.name}", "target_key_id": "aws_kms_key.this.key_id"}


def test_kms_key_policy_lets_the_account_administer_and_logs_use_it_only_for_named_log_groups() -> None:
    document = data("kms", "aws_iam_policy_document")

    root = single(document["statement"], "static statement")
    assert root["effect"] == "Allow"
    assert root["actions"] == ["kms:*"]
    assert root["principals"] == [
        {"type": "AWS", "identifiers": ["arn:${local.partition}:iam::${local.account_id}:root"]}
    ]

    logs = single([d["statement"] for d in document.get("dynamic", []) if "statement" in d], "logs statement")
    content = single(logs["content"], "logs statement content")
    assert content["principals"] == [
        {"type": "Service", "identifiers": ["logs.${local.region}.amazonaws.com"]}
    ]
    assert "kms:GenerateDataKey*" in content["actions"]
    assert "kms:*" not in content["actions"]
    condition = single(content["condition"], "logs condition")
    assert condition["test"] == "ArnLike"
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert "log-group:${prefix}*" in locals_of("kms")["log_group_arn_patterns"]


def test_kms_module_outputs_the_key_itself() -> None:
    outputs = outputs_of(MODULES / "kms")

    assert outputs["key_arn"]["value"] == "aws_kms_key.this.arn"
    assert outputs["key_id"]["value"] == "aws_kms_key.this.key_id"
    assert outputs["alias_name"]["value"] == "aws_kms_alias.this.name"


# --- environments: composition ---------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_encrypts_every_storage_module_with_the_cmk(environment: str) -> None:
    calls = module_calls(environment)

    assert calls["kms"]["source"] == "../../modules/kms"
    assert calls["inference_store"]["source"] == "../../modules/inference_store"
    assert calls["artifact_store"]["source"] == "../../modules/artifact_store"
    # Every module that stores or encrypts something (storage, functions, agents) uses the CMK.
    keyed = {name: call for name, call in calls.items() if name != "kms"}
    assert {"inference_store", "artifact_store", "functions"} <= set(keyed)
    for name, call in keyed.items():
        if name == "layer":  # code only, encrypted by Lambda
            continue
        assert call["kms_key_arn"] == "module.kms.key_arn", (
            f"{environment}: {name} is not encrypted with the CMK"
        )


@pytest.mark.parametrize(
    ("environment", "deletion_protection", "force_destroy"),
    [("local", False, True), ("aws", True, False)],
)
def test_environment_protection_settings(
    environment: str, deletion_protection: bool, force_destroy: bool
) -> None:
    calls = module_calls(environment)

    assert calls["inference_store"]["deletion_protection"] is deletion_protection
    assert calls["artifact_store"]["force_destroy"] is force_destroy


def test_bucket_policy_is_attached_by_default_and_always_in_aws() -> None:
    policy = resource("artifact_store", "aws_s3_bucket_policy")

    assert policy["count"] == "var.attach_policy ? 1 : 0"
    assert variables_of(MODULES / "artifact_store")["attach_policy"]["default"] is True
    assert module_calls("aws")["artifact_store"].get("attach_policy", True) is True


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_exposes_the_outputs_tests_and_tools_read(environment: str) -> None:
    outputs = outputs_of(TERRAFORM / "environments" / environment)

    expected = {
        "region",
        "endpoint",
        "name_prefix",
        "kms_key_arn",
        "kms_key_id",
        "inference_table_name",
        "inference_table_arn",
        "artifact_bucket_name",
        "artifact_bucket_arn",
    }
    assert expected <= set(outputs)
    assert outputs["kms_key_arn"]["value"] == "module.kms.key_arn"
    assert outputs["inference_table_name"]["value"] == "module.inference_store.table_name"
    assert outputs["artifact_bucket_name"]["value"] == "module.artifact_store.bucket_name"
    assert all(o.get("description") for o in outputs.values())


def test_local_environment_sends_every_service_to_the_emulator() -> None:
    provider = single(_load(TERRAFORM / "environments" / "local")["provider"], "provider block")["aws"]
    endpoints = single(provider["endpoints"], "endpoints block")

    required = {
        "dynamodb",
        "s3",
        "kms",
        "iam",
        "sts",
        "lambda",
        "logs",
        "cloudformation",
        "bedrock",
        "bedrockagent",
        "cloudwatch",
        "xray",
    }
    assert required <= set(endpoints)
    assert set(endpoints.values()) == {"var.endpoint"}
    assert provider["s3_use_path_style"] is True
    for flag in (
        "skip_credentials_validation",
        "skip_metadata_api_check",
        "skip_requesting_account_id",
        "skip_region_validation",
    ):
        assert provider[flag] is True, flag
    assert (provider["access_key"], provider["secret_key"]) == ("test", "test")


def test_aws_environment_uses_real_endpoints_and_tags_everything() -> None:
    provider = single(_load(TERRAFORM / "environments" / "aws")["provider"], "provider block")["aws"]

    assert "endpoints" not in provider
    assert "access_key" not in provider
    tags = single(provider["default_tags"], "default_tags")["tags"]
    assert set(tags) == {"project", "environment", "managed_by"}


@pytest.mark.parametrize(
    "directory",
    [
        MODULES / m
        for m in (
            "kms",
            "inference_store",
            "artifact_store",
            "lambda_layer",
            "agent_function",
            "bedrock_agents",
        )
    ]
    + [TERRAFORM / "environments" / e for e in ENVIRONMENTS],
    ids=lambda p: p.name,
)
def test_every_variable_has_a_description_and_type_and_every_output_a_description(directory: Path) -> None:
    for name, variable in variables_of(directory).items():
        assert variable.get("description"), f"{directory.name}: variable {name} has no description"
        assert variable.get("type"), f"{directory.name}: variable {name} has no type"
    for name, output in outputs_of(directory).items():
        assert output.get("description"), f"{directory.name}: output {name} has no description"
