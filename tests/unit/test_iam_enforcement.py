"""The emulator's IAM evaluation (autoninja_cli.iam_enforcement) decides as IAM does, offline.

R7 trusts these decisions to say a role is least-privileged; if the evaluator allowed too much, R7
could not fail. So each rule it relies on is pinned here: explicit deny wins, an unmatched condition
makes an Allow not apply (it is not a Deny), absent keys fail positive operators and satisfy negated
ones, unknown operators fail closed, and resources match with IAM wildcards, case-sensitively.
"""

from __future__ import annotations

from typing import Any

import pytest

from autoninja_cli.iam_enforcement import Decision, condition_holds, evaluate, trust_allows

BUCKET = "arn:aws:s3:::autoninja-artifacts"
CMK = "arn:aws:kms:us-east-1:123456789012:key/1111"
KMS_WRITE = {
    "StringEquals": {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": CMK,
    }
}
ROLE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{BUCKET}/job-*/*",
            "Condition": KMS_WRITE,
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/job-*/*"},
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET,
            "Condition": {"StringLike": {"s3:prefix": ["job-*"]}},
        },
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteTable"],
            "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/*",
            "Condition": {"StringEquals": {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}},
        },
    ],
}
KMS_HEADERS = {
    "s3:x-amz-server-side-encryption": ["aws:kms"],
    "s3:x-amz-server-side-encryption-aws-kms-key-id": [CMK],
}


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("s3:PutObject", f"{BUCKET}/job-a-20261203-192142/code/x.py", KMS_HEADERS, Decision.ALLOW),
        ("s3:PutObject", f"{BUCKET}/job-a-20261203-192142/code/x.py", {}, Decision.IMPLICIT_DENY),
        (
            "s3:PutObject",
            f"{BUCKET}/job-a/x",
            {
                **KMS_HEADERS,
                "s3:x-amz-server-side-encryption-aws-kms-key-id": ["arn:aws:kms:us-east-1:1:key/other"],
            },
            Decision.IMPLICIT_DENY,
        ),
        ("s3:PutObject", f"{BUCKET}/outside/x", KMS_HEADERS, Decision.IMPLICIT_DENY),
        ("s3:GetObject", f"{BUCKET}/_dead-letters/job-a/r.json", {}, Decision.IMPLICIT_DENY),
        ("S3:GETOBJECT", f"{BUCKET}/job-a/x", {}, Decision.ALLOW),  # actions are case-insensitive
        ("s3:GetObject", f"{BUCKET}/JOB-a/x", {}, Decision.IMPLICIT_DENY),  # resources are not
        ("s3:ListBucket", BUCKET, {"s3:prefix": ["job-a/"]}, Decision.ALLOW),
        ("s3:ListBucket", BUCKET, {"s3:prefix": ["_dead-letters/"]}, Decision.IMPLICIT_DENY),
        ("s3:ListBucket", BUCKET, {}, Decision.IMPLICIT_DENY),
        (
            "dynamodb:DeleteTable",
            "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            {},
            Decision.IMPLICIT_DENY,
        ),
        (
            "dynamodb:DeleteTable",
            "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            {"aws:CalledViaFirst": ["cloudformation.amazonaws.com"]},
            Decision.ALLOW,
        ),
    ],
)
def test_a_role_policy_allows_exactly_what_it_grants(
    action: str, resource: str, context: dict[str, list[str]], expected: Decision
) -> None:
    assert evaluate([ROLE], action, resource, context) is expected


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = {"Statement": [{"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}]}

    assert evaluate([ROLE, deny], "s3:PutObject", f"{BUCKET}/job-a/x", KMS_HEADERS) is Decision.EXPLICIT_DENY
    assert evaluate([ROLE, deny], "s3:GetObject", f"{BUCKET}/job-a/x", {}) is Decision.ALLOW


@pytest.mark.parametrize(
    ("operator", "context", "expected"),
    [
        ("StringEquals", {}, False),
        ("StringNotEquals", {}, True),
        ("StringEqualsIfExists", {}, True),
        ("StringNotEqualsIfExists", {"k": ["v"]}, False),
        ("StringNotEqualsIfExists", {"k": ["w"]}, True),
        ("StringLike", {"k": ["v"]}, True),
        ("StringNotLike", {"k": ["v"]}, False),
        ("ForAllValues:StringEquals", {}, True),
        ("ForAnyValue:StringEquals", {}, False),
        ("ForAnyValue:StringEquals", {"k": ["w", "v"]}, True),
        ("ForAllValues:StringEquals", {"k": ["w", "v"]}, False),
    ],
)
def test_condition_operators_treat_absent_keys_as_iam_does(
    operator: str, context: dict[str, list[str]], expected: bool
) -> None:
    assert condition_holds(operator, "k", "v", context) is expected


def test_null_and_bool_conditions() -> None:
    assert condition_holds("Null", "k", "true", {}) is True
    assert condition_holds("Null", "k", "true", {"k": ["v"]}) is False
    assert condition_holds("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": ["false"]}) is True
    assert condition_holds("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": ["false"]}) is False


def test_an_unknown_operator_fails_closed() -> None:
    unknown = {"NumericLessThan": {"k": "1"}}
    allow = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": unknown}]}
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown}]}

    assert condition_holds("NumericLessThan", "k", "1", {"k": ["0"]}) is None
    assert evaluate([allow], "s3:GetObject", "x", {"k": ["0"]}) is Decision.IMPLICIT_DENY
    assert evaluate([ROLE, deny], "s3:GetObject", f"{BUCKET}/job-a/x", {}) is Decision.EXPLICIT_DENY


def test_a_trust_policy_naming_a_service_trusts_no_account_principal() -> None:
    lambda_only = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    account = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    caller = ["arn:aws:iam::123456789012:user/u", "123456789012", "arn:aws:iam::123456789012:root"]

    assert trust_allows(lambda_only, "sts:AssumeRole", caller, {}) is False
    assert trust_allows(account, "sts:AssumeRole", caller, {}) is True
