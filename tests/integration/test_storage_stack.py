"""The applied storage stack (Terraform outputs -> emulator) is what the layer expects.

Given the local stack applied with terraform/environments/local, when we describe the table, the
bucket and the key over HTTP, then the keys, indexes, encryption and guards are the ones the layer
relies on, and an object written with the project's key is stored with that key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client


def _delete_every_version(s3: S3Client, bucket: str, key: str) -> None:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if v["Key"] == key
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


@pytest.fixture
def object_key(s3: S3Client, stack: dict[str, Any]) -> Iterator[str]:
    """A key no other test uses; every version written under it is deleted afterwards."""
    key = f"integration-tests/{uuid.uuid4().hex}/artifact.json"
    yield key
    _delete_every_version(s3, stack["artifact_bucket_name"], key)


# --- the inference-records table -------------------------------------------------------------------


def test_table_keys_are_job_name_and_record_id(dynamodb: DynamoDBClient, stack: dict[str, Any]) -> None:
    table = dynamodb.describe_table(TableName=stack["inference_table_name"])["Table"]

    assert table["KeySchema"] == [
        {"AttributeName": "job_name", "KeyType": "HASH"},
        {"AttributeName": "record_id", "KeyType": "RANGE"},
    ]
    assert table["TableArn"] == stack["inference_table_arn"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_both_gsis_on_timestamp_with_full_projection(
    dynamodb: DynamoDBClient, stack: dict[str, Any]
) -> None:
    table = dynamodb.describe_table(TableName=stack["inference_table_name"])["Table"]

    indexes = {
        gsi["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]],
            gsi["Projection"]["ProjectionType"],
        )
        for gsi in table.get("GlobalSecondaryIndexes", [])
    }

    assert indexes == {
        "SessionIdIndex": ([("session_id", "HASH"), ("timestamp", "RANGE")], "ALL"),
        "AgentNameTimestampIndex": ([("agent_name", "HASH"), ("timestamp", "RANGE")], "ALL"),
    }


def test_table_has_point_in_time_recovery(dynamodb: DynamoDBClient, stack: dict[str, Any]) -> None:
    backups = dynamodb.describe_continuous_backups(TableName=stack["inference_table_name"])

    description = backups["ContinuousBackupsDescription"]
    assert description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_table_is_encrypted_with_the_cmk(dynamodb: DynamoDBClient, stack: dict[str, Any]) -> None:
    table = dynamodb.describe_table(TableName=stack["inference_table_name"])["Table"]

    sse = table["SSEDescription"]
    assert sse["Status"] == "ENABLED"
    assert sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyArn"] == stack["kms_key_arn"]


# --- the customer-managed key ----------------------------------------------------------------------


def test_cmk_is_enabled_symmetric_rotating_and_aliased(kms: KMSClient, stack: dict[str, Any]) -> None:
    metadata = kms.describe_key(KeyId=stack["kms_alias_name"])["KeyMetadata"]

    assert metadata["Arn"] == stack["kms_key_arn"]
    assert metadata["KeyId"] == stack["kms_key_id"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert kms.get_key_rotation_status(KeyId=stack["kms_key_id"])["KeyRotationEnabled"] is True


# --- the artifacts bucket --------------------------------------------------------------------------


def test_bucket_is_versioned(s3: S3Client, stack: dict[str, Any]) -> None:
    assert s3.get_bucket_versioning(Bucket=stack["artifact_bucket_name"]).get("Status") == "Enabled"


def test_bucket_default_encryption_is_the_cmk_with_a_bucket_key(s3: S3Client, stack: dict[str, Any]) -> None:
    config = s3.get_bucket_encryption(Bucket=stack["artifact_bucket_name"])[
        "ServerSideEncryptionConfiguration"
    ]

    assert len(config["Rules"]) == 1
    rule = config["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": stack["kms_key_arn"],
    }
    assert rule["BucketKeyEnabled"] is True


def test_bucket_blocks_public_access_and_enforces_bucket_ownership(
    s3: S3Client, stack: dict[str, Any]
) -> None:
    bucket = stack["artifact_bucket_name"]

    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bucket_lifecycle_expires_noncurrent_versions_and_aborts_uploads(
    s3: S3Client, stack: dict[str, Any]
) -> None:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=stack["artifact_bucket_name"])["Rules"]

    assert len(rules) == 1
    rule = rules[0]
    assert rule["Status"] == "Enabled"
    assert rule.get("Filter", {}).get("Prefix", "") == ""
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_bucket_policy_is_attached_exactly_when_terraform_says_so(
    s3: S3Client, stack: dict[str, Any]
) -> None:
    bucket = stack["artifact_bucket_name"]

    if stack["artifact_bucket_policy_attached"]:
        statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        sids = {s.get("Sid") for s in statements if s["Effect"] == "Deny"}
        assert {
            "DenyInsecureTransport",
            "DenyUploadsNotEncryptedWithKms",
            "DenyUploadsWithAnotherKmsKey",
        } <= sids
    else:
        # On moto the policy is left off (it would deny every object request); make sure it is.
        with pytest.raises(ClientError) as excinfo:
            s3.get_bucket_policy(Bucket=bucket)
        assert excinfo.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


def test_object_put_with_the_cmk_is_stored_with_the_cmk(
    s3: S3Client, stack: dict[str, Any], object_key: str
) -> None:
    # Given an artifact body, when it is put the way the layer puts it (SSE-KMS, the CMK by ARN) ...
    bucket = stack["artifact_bucket_name"]
    body = json.dumps({"phase": "requirements", "id": object_key}).encode()

    put = s3.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=body,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack["kms_key_arn"],
    )

    # ... then S3 reports that key on the stored version, and the body reads back unchanged.
    head = s3.head_object(Bucket=bucket, Key=object_key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == stack["kms_key_arn"]
    assert head["VersionId"] == put["VersionId"]
    assert s3.get_object(Bucket=bucket, Key=object_key)["Body"].read() == body


def test_object_put_without_encryption_headers_falls_back_to_the_cmk(
    s3: S3Client, stack: dict[str, Any], object_key: str
) -> None:
    bucket = stack["artifact_bucket_name"]

    s3.put_object(Bucket=bucket, Key=object_key, Body=b"default encryption")

    head = s3.head_object(Bucket=bucket, Key=object_key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == stack["kms_key_arn"]


def test_overwriting_an_object_keeps_the_previous_version(
    s3: S3Client, stack: dict[str, Any], object_key: str
) -> None:
    bucket = stack["artifact_bucket_name"]
    first = s3.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=b"v1",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack["kms_key_arn"],
    )
    s3.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=b"v2",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack["kms_key_arn"],
    )

    versions = [
        v
        for v in s3.list_object_versions(Bucket=bucket, Prefix=object_key).get("Versions", [])
        if v["Key"] == object_key
    ]

    assert len(versions) == 2
    old = s3.get_object(Bucket=bucket, Key=object_key, VersionId=first["VersionId"])
    assert old["Body"].read() == b"v1"
