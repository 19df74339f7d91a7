"""IAM enforcement for the embedded emulator: identity policies judged against the real resource and
the request's condition keys, the way IAM does.

moto server checks every request against the caller's IAM policies once its free budget of
unauthenticated requests is spent (``INITIAL_NO_AUTH_ACTION_COUNT``, or ``POST /moto-api/reset-auth``).
As shipped (moto 5.2) that check cannot prove least privilege:

- DynamoDB, KMS, CloudWatch Logs, Lambda and CloudFormation requests are judged against the resource
  ``"*"``, so a policy scoped to a table, a key or a log group denies even the calls it allows;
- only ``StringEquals`` conditions are evaluated, a condition key absent from the request counts as a
  match, and an ``Allow`` whose condition fails is turned into an explicit deny: every other operator
  (``StringLike``, ``Null``, ...) is ignored, so a conditional grant is unconditional;
- permissions boundaries are ignored, and a trust policy naming a service principal makes
  ``AssumeRole`` fail with a server error;
- a bodiless REST request (GET, DELETE: Bedrock's GetAgent, for one) is re-signed over its parsed
  parameters, so its signature never matches; and JSON services get XML errors their SDKs cannot read.

:func:`install` patches the server process (and only it: the emulator started with
``--iam-enforcement``, see :mod:`autoninja_cli.emulator`) so that:

1. each of those services names the resource(s) IAM would evaluate (:data:`RESOURCE_RULES`):

   ============== ============================================================================
   dynamodb       ``table/{TableName}``; ``table/{TableName}/index/{IndexName}`` for an index
                  Query or Scan; every table of a batch or transaction
   kms            ``key/{id}`` of ``KeyId`` (id, ARN, alias or alias ARN), or of the key that
                  made a ``CiphertextBlob`` when Decrypt names none; ``alias/{name}`` for alias
                  operations as well as the key
   logs           ``log-group:{name}:log-stream:{stream}`` when a stream is named, else
                  ``log-group:{name}``
   lambda         ``function:{name}`` (names, ARNs and qualifiers accepted), ``layer:{name}``
   cloudformation ``stack/{StackName}/*`` (or the stack ARN given)
   bedrock        ``agent/{id}``, ``agent-alias/{id}/{alias}`` (InvokeAgent), ``agent/*`` for
                  CreateAgent and ListAgents (agents and their runtime both sign as bedrock)
   ============== ============================================================================

   (S3, IAM and STS already name theirs: ``bucket`` or ``bucket/key``, the role, the role assumed);

2. the decision follows IAM's evaluation logic for identity-based policies: an explicit ``Deny``
   wins, else an ``Allow`` whose action, resource and conditions all match, else an implicit deny;
   a permissions boundary must allow as well. ``Action``/``NotAction``, ``Resource``/``NotResource``
   with ``*`` and ``?`` wildcards, and the condition operators ``String*``, ``Arn*``, ``Bool`` and
   ``Null`` with their ``IfExists`` and ``ForAnyValue:``/``ForAllValues:`` forms are understood; an
   operator outside that list fails closed (an ``Allow`` carrying it never applies, a ``Deny``
   always does);

3. the request context carries the keys the emulator can know: ``aws:PrincipalArn``,
   ``aws:PrincipalAccount``, ``aws:RequestedRegion``, ``aws:SecureTransport`` (false: plain HTTP on
   loopback), ``aws:username`` for a user, ``sts:ExternalId``, and for S3 ``s3:prefix``,
   ``s3:delimiter``, ``s3:x-amz-server-side-encryption`` and
   ``s3:x-amz-server-side-encryption-aws-kms-key-id`` from the request itself. Keys that only AWS
   can set are absent, notably ``aws:CalledVia*`` (nothing in the emulator calls on a principal's
   behalf: a grant conditioned on CloudFormation calling never applies to a direct call, as in AWS);

4. a trust policy allows ``AssumeRole`` only to the AWS principals it names (the caller's ARN, its
   role's ARN, its account or ``*``), with its conditions; a service principal never matches.

What it does not do: resource-based policies (bucket policies, key policies, Lambda permissions)
are not evaluated, nor are SCPs or session policies; S3 server-side encryption is not done with the
caller's KMS rights; and the ``/moto-api`` control endpoints stay open to anyone on loopback.
Without an enforcing budget, nothing here runs: the handlers judge ``"*"`` as before.

Example::

    python -m autoninja_cli.iam_enforcement -H 127.0.0.1 -p 4660   # moto server, patched
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("autoninja.iam_enforcement")

Context = Mapping[str, list[str]]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


# -- policy evaluation ------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _as_strings(value: Any) -> list[str]:
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in _as_list(value)]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters, ``?`` one character, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _string_match(operator: str) -> Callable[[str, str], bool] | None:
    """The value test of a base operator (without Not/IfExists), or None if unknown."""
    tests: dict[str, Callable[[str, str], bool]] = {
        "StringEquals": lambda expected, actual: expected == actual,
        "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
        "StringLike": _glob,
        "ArnEquals": lambda expected, actual: expected == actual,
        "ArnLike": _glob,
        "Bool": lambda expected, actual: expected.lower() == actual.lower(),
    }
    return tests.get(operator)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool | None:
    """Whether one ``{operator: {key: expected}}`` condition holds; None for an unknown operator.

    A key absent from the context fails a positive operator and satisfies a negated one (IAM's rule),
    and satisfies any ``...IfExists`` operator.
    """
    qualifier, _, operator = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    actual = list(context.get(key, []))
    expected_values = _as_strings(expected)
    if operator == "Null":
        wants_absent = [value.lower() for value in expected_values] == ["true"]
        return (not actual) == wants_absent
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    negated = operator in _NEGATED
    test = _string_match(_NEGATED.get(operator, operator))
    if test is None:
        return None
    if not actual:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier == "")

    def one(value: str) -> bool:
        matched = any(test(pattern, value) for pattern in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual)
    if qualifier == "ForAnyValue" or not negated:
        return any(one(value) for value in actual)
    return all(one(value) for value in actual)


def _conditions_hold(statement: Mapping[str, Any], context: Context, *, fail_closed_as: bool) -> bool:
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            holds = condition_holds(operator, key, expected, context)
            if holds is None:
                log.warning("unknown condition operator %s: evaluated as %s", operator, fail_closed_as)
                holds = fail_closed_as
            if not holds:
                return False
    return True


def _matches_any(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    return any(_glob(pattern, value, ignore_case=ignore_case) for pattern in _as_strings(patterns))


def statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    """Whether a statement's action, resource and conditions all match the request."""
    if "NotAction" in statement:
        if _matches_any(statement["NotAction"], action, ignore_case=True):
            return False
    elif not _matches_any(statement.get("Action", []), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches_any(statement["NotResource"], resource, ignore_case=False):
            return False
    elif "Resource" in statement and not _matches_any(statement["Resource"], resource, ignore_case=False):
        return False
    # An unknown operator fails closed: it never lets an Allow apply, and always lets a Deny apply.
    return _conditions_hold(statement, context, fail_closed_as=statement.get("Effect") == "Deny")


def evaluate(
    documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context
) -> Decision:
    """IAM's decision for identity-based policy documents: explicit deny, else allow, else implicit deny.

    Example::

        evaluate([{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                  "Resource": "arn:aws:s3:::b/job-*"}]}],
                 "s3:GetObject", "arn:aws:s3:::b/job-a/x", {})          # Decision.ALLOW
    """
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if not statement_applies(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def trust_allows(document: Mapping[str, Any], action: str, caller_arns: list[str], context: Context) -> bool:
    """Whether a role's trust policy lets one of ``caller_arns`` (or its account) take ``action``."""
    allowed = False
    for statement in _as_list(document.get("Statement", [])):
        principal = statement.get("Principal")
        names = ["*"] if principal == "*" else _as_strings((principal or {}).get("AWS", []))
        if not any(name == "*" or name in caller_arns for name in names):
            continue
        if not _matches_any(statement.get("Action", []), action, ignore_case=True):
            continue
        if not _conditions_hold(statement, context, fail_closed_as=statement.get("Effect") == "Deny"):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


# -- the resources each service's requests act on ----------------------------------------------------


def _enforcing() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


def _arn_prefix(handler: Any, service: str) -> str:
    from moto.utilities.utils import get_partition

    return f"arn:{get_partition(handler.region)}:{service}:{handler.region}:{handler.current_account}"


def _json_params(handler: Any) -> dict[str, Any]:
    params = getattr(handler, "params", None)
    if isinstance(params, dict) and params:
        return params
    body = handler.body
    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def dynamodb_resources(handler: Any) -> list[str]:
    params = _json_params(handler)
    prefix = _arn_prefix(handler, "dynamodb")

    def table(name: str) -> str:
        return name if name.startswith("arn:") else f"{prefix}:table/{name}"

    names: list[str] = []
    if params.get("TableName"):
        names.append(table(str(params["TableName"])))
        if params.get("IndexName"):
            return [f"{names[0]}/index/{params['IndexName']}"]
    names.extend(table(str(name)) for name in params.get("RequestItems") or {})
    for item in params.get("TransactItems") or []:
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("TableName"):
                names.append(table(str(operation["TableName"])))
    if params.get("ResourceArn"):
        names.append(str(params["ResourceArn"]))
    return sorted(set(names)) or ["*"]


def kms_resources(handler: Any) -> list[str]:
    from moto.kms.models import kms_backends
    from moto.kms.utils import _deserialize_ciphertext_blob

    prefix = _arn_prefix(handler, "kms")
    backend = kms_backends[handler.current_account][handler.region]
    params = _json_params(handler)
    resources: list[str] = []
    key_id = params.get("KeyId") or params.get("TargetKeyId")
    if not key_id and params.get("CiphertextBlob"):
        try:
            key_id = _deserialize_ciphertext_blob(handler._get_param("CiphertextBlob")).key_id
        except Exception:  # noqa: BLE001 - not a moto ciphertext: judged against "*" below
            key_id = None
    if key_id:
        try:
            resources.append(f"{prefix}:key/{backend.any_id_to_key_id(str(key_id))}")
        except Exception:  # noqa: BLE001 - an unknown key: judged as named, the operation then fails
            resources.append(str(key_id) if str(key_id).startswith("arn:") else f"{prefix}:key/{key_id}")
    if params.get("AliasName"):
        alias = str(params["AliasName"])
        resources.append(alias if alias.startswith("arn:") else f"{prefix}:{alias}")
    return resources or ["*"]


def logs_resources(handler: Any) -> list[str]:
    params = _json_params(handler)
    prefix = _arn_prefix(handler, "logs")
    group = params.get("logGroupName") or params.get("logGroupIdentifier")
    if not group:
        return ["*"]
    group_arn = (
        str(group).removesuffix(":*") if str(group).startswith("arn:") else f"{prefix}:log-group:{group}"
    )
    if params.get("logStreamName"):
        return [f"{group_arn}:log-stream:{params['logStreamName']}"]
    return [group_arn]


_LAMBDA_PATH = re.compile(r"^/[^/]+/(functions|layers)/([^/?]+)")


def lambda_resources(handler: Any) -> list[str]:
    prefix = _arn_prefix(handler, "lambda")
    match = _LAMBDA_PATH.match(urlsplit(handler.path).path)
    if not match:
        return ["*"]
    kind, name = match.group(1), unquote(match.group(2))
    if name.startswith("arn:"):
        return [name]
    if kind == "layers":
        return [f"{prefix}:layer:{name}"]
    # "name", "name:qualifier" or "account:function:name" (a partial ARN)
    parts = name.split(":")
    if len(parts) >= 3 and parts[1] == "function":
        return [f"{prefix}:function:{':'.join(parts[2:])}"]
    return [f"{prefix}:function:{name}"]


def cloudformation_resources(handler: Any) -> list[str]:
    stack = handler._get_param("StackName")
    if not stack:
        return ["*"]
    return [
        stack if stack.startswith("arn:") else f"{_arn_prefix(handler, 'cloudformation')}:stack/{stack}/*"
    ]


_BEDROCK_AGENT_PATH = re.compile(r"^/agents/([^/]+)(?:/agentaliases/([^/]+))?", re.IGNORECASE)


def bedrock_agent_resources(handler: Any) -> list[str]:
    """Agents (bedrock-agent) and agent aliases (InvokeAgent); both sign as ``bedrock``."""
    prefix = _arn_prefix(handler, "bedrock")
    path = urlsplit(handler.path).path
    match = _BEDROCK_AGENT_PATH.match(path)
    if match and match.group(2):
        return [f"{prefix}:agent-alias/{match.group(1)}/{match.group(2)}"]
    if match:
        return [f"{prefix}:agent/{match.group(1)}"]
    if path.rstrip("/").lower() == "/agents":
        return [f"{prefix}:agent/*"]  # CreateAgent, ListAgents: no agent id yet
    return ["*"]


RESOURCE_RULES: dict[tuple[str, str], Callable[[Any], list[str]]] = {
    ("moto.dynamodb.responses", "DynamoHandler"): dynamodb_resources,
    ("moto.kms.responses", "KmsResponse"): kms_resources,
    ("moto.logs.responses", "LogsResponse"): logs_resources,
    ("moto.awslambda.responses", "LambdaResponse"): lambda_resources,
    ("moto.cloudformation.responses", "CloudFormationResponse"): cloudformation_resources,
    ("moto.bedrockagent.responses", "AgentsforBedrockResponse"): bedrock_agent_resources,
    ("moto.bedrock.responses", "BedrockResponse"): bedrock_agent_resources,
}


def _resource_hook(rule: Callable[[Any], list[str]]) -> Callable[[Any], Any]:
    def _determine_resource(handler: Any) -> Any:
        if not _enforcing():
            return "*"  # nothing is checked: keep the unauthenticated path as moto ships it
        return rule(handler)

    return _determine_resource


# -- the decision ------------------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = {key.lower(): item for key, item in headers.items()}.get(name.lower())
    return None if value is None else str(value)


def request_context(request: Any) -> dict[str, list[str]]:
    """The condition keys of a moto ``IAMRequest``: the principal, the region and the S3 request keys."""
    access_key = request._access_key
    account = request.account_id
    context: dict[str, list[str]] = {
        "aws:PrincipalAccount": [account],
        "aws:RequestedRegion": [request._region],
        "aws:SecureTransport": ["false"],
    }
    role = getattr(access_key, "_owner_role_name", None)
    partition = access_key.partition
    if role is not None:
        context["aws:PrincipalArn"] = [f"arn:{partition}:iam::{account}:role/{role}"]
    else:
        context["aws:PrincipalArn"] = [access_key.arn]
        context["aws:username"] = [access_key._owner_user_name]
    data = request._data or {}
    if "ExternalId" in data:
        context["sts:ExternalId"] = _as_strings(data["ExternalId"])[:1]
    if request._service == "s3":
        query = parse_qs(urlsplit(request._path).query, keep_blank_values=True)
        for name in ("prefix", "delimiter"):
            if name in query:
                context[f"s3:{name}"] = query[name][:1]
        for name in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
            value = _header(request._headers, name)
            if value is not None:
                context[f"s3:{name}"] = [value]
    return context


def _documents(policies: Iterable[Any]) -> list[dict[str, Any]]:
    from moto.iam.models import Policy

    documents = []
    for policy in policies:
        if isinstance(policy, Policy):
            raw = next(version.document for version in policy.versions if version.is_default)
        elif isinstance(policy, str):
            raw = policy
        else:
            raw = policy["policy_document"]
        documents.append(json.loads(raw) if isinstance(raw, str) else raw)
    return documents


def _boundary(request: Any) -> dict[str, Any] | None:
    from moto.iam.exceptions import NotFoundException

    role = getattr(request._access_key, "_owner_role_name", None)
    try:
        owner = (
            request.backend.get_role(role)
            if role is not None
            else request.backend.get_user(request._access_key._owner_user_name)
        )
    except NotFoundException:
        return None
    arn = getattr(owner, "permissions_boundary_arn", None) or getattr(owner, "permissions_boundary", None)
    if not isinstance(arn, str) or not arn:
        return None
    return _documents([request.backend.get_policy(arn)])[0]


# moto's name for an action where it is not IAM's (X-Ray's handler names its actions by URL path).
IAM_ACTION_NAMES = {
    "xray:TraceSegments": "xray:PutTraceSegments",
    "xray:TelemetryRecords": "xray:PutTelemetryRecords",
}


@functools.cache
def _protocol(signing_name: str) -> str:
    import botocore.session

    try:
        return str(botocore.session.get_session().get_service_model(signing_name).protocol)
    except Exception:  # noqa: BLE001 - a signing name that is no service name: moto's XML error
        return "query"


def _deny(request: Any, action: str, resource: str, decision: str) -> None:
    """Raise the error AWS answers with: ``AccessDeniedException`` (JSON) for JSON-protocol
    services, which moto would answer in XML that their SDK clients cannot read."""
    from moto.core.exceptions import JsonRESTError
    from moto.iam.access_control import S3IAMRequest

    principal = request._access_key.arn
    log.info("%s on %s by %s: %s", action, resource, principal, decision)
    if isinstance(request, S3IAMRequest) or _protocol(request._service) not in ("json", "rest-json"):
        request._raise_access_denied()
    error = JsonRESTError(
        "AccessDeniedException",
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
        if decision == Decision.IMPLICIT_DENY.value
        else f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"with an explicit deny in an identity-based policy",
    )
    error.code = 403
    raise error


def check_action_permitted(request: Any, resource: str | list[str]) -> None:
    """The replacement of moto's ``IAMRequestBase.check_action_permitted`` (see the module doc)."""
    if request._action == "sts:GetCallerIdentity":
        return  # always allowed, even under an explicit deny
    action = IAM_ACTION_NAMES.get(request._action, request._action)
    resources = [resource] if isinstance(resource, str) else list(resource) or ["*"]
    context = request_context(request)
    documents = _documents(request._access_key.collect_policies())
    boundary = _boundary(request)
    for target in resources:
        decision = evaluate(documents, action, target, context)
        if decision is Decision.ALLOW and boundary is not None:
            decision = evaluate([boundary], action, target, context)
        if decision is not Decision.ALLOW:
            _deny(request, action, target, decision.value)
    if request._is_assuming_role_operation(resources[0]):
        role = request.backend.get_role_by_arn(resources[0])
        callers = [request._access_key.arn, *context["aws:PrincipalArn"], request.account_id]
        callers.append(f"arn:{request._access_key.partition}:iam::{request.account_id}:root")
        if not trust_allows(json.loads(role.assume_role_policy_document), action, callers, context):
            _deny(request, action, resources[0], "not trusted by the role")


def _signed_request_without_parsed_params(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto re-signs a bodiless request (a REST GET or DELETE) over its *parsed parameters* instead of
    the empty body the client signed, so every such call failed with SignatureDoesNotMatch."""

    def _create_aws_request(request: Any) -> Any:
        aws_request = original(request)
        if not request._body and request._method in ("GET", "HEAD", "DELETE"):
            aws_request.data = b""
        return aws_request

    return _create_aws_request


def install() -> None:
    """Patch moto in this process (idempotent): resource hooks on the handlers, the evaluator on IAM."""
    import importlib

    from moto.iam.access_control import IAMRequestBase

    for (module_name, class_name), rule in RESOURCE_RULES.items():
        handler_class = getattr(importlib.import_module(module_name), class_name)
        handler_class._determine_resource = _resource_hook(rule)
    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign,assignment]
    if not getattr(IAMRequestBase._create_aws_request, "_autoninja", False):
        patched = _signed_request_without_parsed_params(IAMRequestBase._create_aws_request)
        patched._autoninja = True  # type: ignore[attr-defined]
        IAMRequestBase._create_aws_request = patched  # type: ignore[method-assign,assignment]


def main(argv: list[str] | None = None) -> None:
    """Run moto server (same arguments as ``moto_server``) with the enforcement patches installed,
    and :mod:`autoninja_cli.moto_server`'s fix of moto's instance-tracking leak."""
    from autoninja_cli import moto_server as leak_fix

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    leak_fix.install()
    install()
    from moto.server import main as moto_server

    moto_server(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
