"""quality-validator: honest checks of a job's generated code, IAM policies and CloudFormation template.

Operations (phase ``validation``), each storing its report as a JSON artifact:

- ``/validate-code``    Python parsed with ``ast``: syntax errors, dangerous calls, the Lambda handler,
  bare ``except``, hard-coded credentials. Other languages are reported as *not analysed*, never passed.
  Stores ``code_validation.json``.
- ``/security-scan``    IAM statements (wildcards, ``NotAction``/``NotResource``, ``iam:PassRole`` on
  ``*``, public principals) and secret-like strings in the code. Stores ``security_scan.json``.
- ``/compliance-check`` the template: S3 encryption and public access block, DynamoDB SSE, Lambda log
  groups with retention, KMS key rotation, public principals; plus configuration hard-coded in the
  code. Stores ``compliance_report.json``.

**Outcome policy.** A check that ran answers HTTP 200 and its record is ``success``: the *check*
succeeded, and the body says truthfully whether the subject ``passed`` (no ``critical`` or ``high``
finding, and everything was analysed). A request that cannot be checked (missing ``job_name``, a
field that is not JSON, an empty ``code``) answers 4xx and its record is ``error``. Reports in the
response list at most :data:`MAX_FINDINGS_IN_RESPONSE` findings; the stored report has all of them.
Secrets found are never repeated: findings show a masked prefix only.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from autoninja.action import PersistedAction, current_action
from autoninja.contract import JobRequest
from autoninja.conversion import extract_code, parse_json_value
from autoninja.deployment import LAMBDA_FUNCTION_TYPES, log_group_of, template_in
from autoninja.documents import TEMPLATE_ARTIFACT, OptionalJsonObject, OptionalText, operation
from autoninja.errors import ArtifactNotFoundError, ConversionError, InvalidInputError
from autoninja.models import Agent

app = BedrockAgentResolver(enable_validation=True)

Severity = Literal["critical", "high", "medium", "low", "info"]
#: Findings of these severities make a check fail.
BLOCKING: frozenset[str] = frozenset({"critical", "high"})
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
MAX_FINDINGS_IN_RESPONSE = 50
PYTHON_ALIASES = frozenset({"python", "python3", "py"})


Result = TypeVar("Result", bound="CheckResult")


# -- the contract --------------------------------------------------------------------------------


class ValidateCodeRequest(JobRequest):
    code: str = Field(
        min_length=1,
        description="The code to validate: source text (a ```python fence is fine) or a JSON object "
        "mapping file names to their code",
    )
    language: str = Field(default="python", description="The code's language; only python is analysed")


class SecurityScanRequest(JobRequest):
    code: str = Field(min_length=1, description="The code to scan for secrets (text or a JSON file map)")
    iam_policies: OptionalText = Field(
        default=None,
        description="JSON: one IAM policy document, a list of them, or an object mapping policy names "
        "to documents. Absent: the policies in the job's stored CloudFormation template are scanned",
    )


class ComplianceCheckRequest(JobRequest):
    code: str = Field(min_length=1, description="The code to check (text or a JSON file map)")
    architecture: OptionalJsonObject = Field(
        default=None,
        description="JSON architecture; a CloudFormation template in it (the object itself, or under "
        "cloudformation_template / template) is checked. Absent: the job's stored template is checked",
    )


class Finding(BaseModel):
    severity: Severity
    file: str = Field(description="The file, policy or template resource the finding is about")
    line: int | None = None
    rule: str
    message: str


class CheckResult(BaseModel):
    check: str
    passed: bool = Field(description="True only if everything was analysed and no critical/high finding")
    analysed: bool = Field(description="False when the subject could not be analysed at all")
    summary: dict[str, int] = Field(description="Number of findings by severity")
    findings: list[Finding] = Field(description=f"The first {MAX_FINDINGS_IN_RESPONSE} findings")
    findings_total: int
    notes: list[str] = Field(default_factory=list)
    report_uri: str = Field(default="", description="s3:// URI of the full stored report")


class ValidateCodeResponse(CheckResult):
    language: str
    files: list[str]


class SecurityScanResponse(CheckResult):
    policies_checked: list[str]
    policy_source: str


class ComplianceCheckResponse(CheckResult):
    template_source: str | None
    resources_checked: int


# -- operations ------------------------------------------------------------------------------------


@operation(
    app,
    "/validate-code",
    summary="Validate the generated code",
    operation_id="validateCode",
    description="Validate generated code: Python syntax (with line), dangerous calls (eval, exec, "
    "os.system, subprocess shell=True, pickle, unsafe yaml.load, __import__), the Lambda handler "
    "(event, context), bare except and hard-coded credentials. Stores code_validation.json.",
)
def validate_code(body: Annotated[ValidateCodeRequest, Body()]) -> ValidateCodeResponse:
    language = body.language.strip().lower() or "python"
    files = source_files(body.code, language)
    findings, notes, analysed = code_findings(files, language)
    result = ValidateCodeResponse(
        check="code_validation", language=language, files=sorted(files), **_outcome(findings, analysed, notes)
    )
    return _stored("code_validation.json", result)


@operation(
    app,
    "/security-scan",
    summary="Scan IAM policies and code for security problems",
    operation_id="securityScan",
    description="Scan IAM policies (wildcard actions, wildcard resources on write actions, "
    "NotAction/NotResource, iam:PassRole on *, public principals) and the code (AWS keys, secret keys, "
    "private keys, passwords, tokens). Stores security_scan.json.",
)
def security_scan(body: Annotated[SecurityScanRequest, Body()]) -> SecurityScanResponse:
    files = source_files(body.code, "python")
    source: str | None = "request"
    given = parse_json_value("iam_policies", body.iam_policies)
    if given is not None:
        policies = named_policies(given)
    else:
        template, source = stored_template()
        policies = template_policies(template) if template else {}
    findings = [
        *secret_findings(files),
        *(f for name, doc in policies.items() for f in iam_findings(name, doc)),
    ]
    notes = [] if policies else ["no IAM policies given or stored: only the code was scanned"]
    result = SecurityScanResponse(
        check="security_scan",
        policies_checked=sorted(policies),
        policy_source=source if policies and source else "none",
        **_outcome(findings, True, notes),
    )
    return _stored("security_scan.json", result)


@operation(
    app,
    "/compliance-check",
    summary="Check the template and code against the house rules",
    operation_id="complianceCheck",
    description="Check the CloudFormation template against the house rules: S3 encryption and public "
    "access block, DynamoDB SSE, Lambda log groups with retention, KMS key rotation, no public "
    "principals; and configuration hard-coded in the code. Stores compliance_report.json.",
)
def compliance_check(body: Annotated[ComplianceCheckRequest, Body()]) -> ComplianceCheckResponse:
    files = source_files(body.code, "python")
    template = template_in(body.architecture) if body.architecture is not None else None
    source: str | None = "request" if template is not None else None
    if template is None:
        template, source = stored_template()
    findings = [*template_findings(template or {}), *code_compliance_findings(files)]
    notes = []
    if template is None:
        notes.append(
            "no CloudFormation template in `architecture` and none stored by the solution architect: "
            "the infrastructure was not checked"
        )
    result = ComplianceCheckResponse(
        check="compliance",
        template_source=source,
        resources_checked=len((template or {}).get("Resources") or {}),
        **_outcome(findings, template is not None, notes),
    )
    return _stored("compliance_report.json", result)


lambda_handler = PersistedAction(app, agent_name=Agent.QUALITY_VALIDATOR)


# -- shared plumbing ---------------------------------------------------------------------------------


def _outcome(findings: list[Finding], analysed: bool, notes: list[str]) -> dict[str, Any]:
    ordered = sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.file, f.line or 0, f.rule))
    counts = Counter(f.severity for f in ordered)
    return {
        "passed": analysed and not any(f.severity in BLOCKING for f in ordered),
        "analysed": analysed,
        "summary": {severity: counts.get(severity, 0) for severity in SEVERITIES},
        "findings": ordered,
        "findings_total": len(ordered),
        "notes": notes,
    }


def _stored(filename: str, result: Result) -> Result:
    """Store the full report, and answer with the report's URI and the first findings."""
    report = result.model_dump(exclude={"report_uri"})
    stored = current_action().store(filename, report)
    return result.model_copy(
        update={"report_uri": stored.uri, "findings": result.findings[:MAX_FINDINGS_IN_RESPONSE]}
    )


def source_files(code: str, language: str) -> dict[str, str]:
    """The files to check: a JSON file map as given, else the fenced or bare code as one file."""
    if not code.strip():
        raise InvalidInputError("code is empty: send the source text or a JSON map of file name to code")
    python = language in PYTHON_ALIASES
    try:
        extracted = extract_code(code, language="python" if python else language)
    except ConversionError:  # not valid Python and no fence: analyse the text, the syntax check reports it
        extracted = code
    if isinstance(extracted, dict):
        return extracted
    return {"handler.py" if python else f"source.{language}": extracted}


def stored_template() -> tuple[dict[str, Any] | None, str | None]:
    """The job's CloudFormation template stored by the solution architect, and where it came from."""
    action = current_action()
    ref = TEMPLATE_ARTIFACT
    try:
        template = action.read_json(ref.phase, ref.agent_name, ref.filename)
    except ArtifactNotFoundError:
        return None, None
    if not isinstance(template, dict):
        raise ConversionError(f"the stored template at {ref.uri(action)} is not a JSON object")
    return template, ref.uri(action)


def _finding(severity: Severity, file: str, line: int | None, rule: str, message: str) -> Finding:
    return Finding(severity=severity, file=file, line=line, rule=rule, message=message)


def _mask(secret: str) -> str:
    return f"{secret[:4]}... ({len(secret)} characters)"


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# -- code: Python analysis -------------------------------------------------------------------------------

_HANDLER_NAMES = frozenset({"lambda_handler", "handler"})
_DANGEROUS_CALLS: dict[str, tuple[Severity, str, str]] = {
    "eval": (
        "high",
        "dangerous-eval",
        "eval() runs arbitrary code; parse data with json.loads or ast.literal_eval",
    ),
    "exec": ("high", "dangerous-exec", "exec() runs arbitrary code"),
    "compile": ("medium", "dangerous-compile", "compile() builds code from a string; avoid dynamic code"),
    "__import__": ("medium", "dynamic-import", "__import__() imports a module chosen at run time"),
    "os.system": (
        "high",
        "shell-command",
        "os.system() runs a shell; use subprocess.run([...]) without shell",
    ),
    "os.popen": ("high", "shell-command", "os.popen() runs a shell; use subprocess.run([...]) without shell"),
    "subprocess.getoutput": ("high", "shell-command", "subprocess.getoutput() always runs a shell"),
    "subprocess.getstatusoutput": (
        "high",
        "shell-command",
        "subprocess.getstatusoutput() always runs a shell",
    ),
    "pickle.loads": ("high", "unsafe-deserialisation", "pickle.loads() runs code embedded in the data"),
    "pickle.load": ("high", "unsafe-deserialisation", "pickle.load() runs code embedded in the data"),
    "marshal.loads": ("high", "unsafe-deserialisation", "marshal.loads() on untrusted data is unsafe"),
    "yaml.unsafe_load": ("high", "unsafe-yaml-load", "yaml.unsafe_load() constructs arbitrary objects"),
}
_SUBPROCESS_CALLS = frozenset(
    f"subprocess.{name}" for name in ("run", "call", "check_call", "check_output", "Popen")
)
_YAML_LOADS = frozenset({"yaml.load", "yaml.load_all"})
_SAFE_YAML_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader")
_CONFIG_KEYWORDS = {
    "region_name": ("hard-coded-region", "the region is hard-coded; let the SDK read AWS_REGION"),
    "endpoint_url": ("hard-coded-endpoint", "the endpoint is hard-coded; let the SDK read AWS_ENDPOINT_URL"),
}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound by imports, to their qualified names (``sp`` -> ``subprocess``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualified(node: ast.expr, aliases: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _call_findings(file: str, tree: ast.AST) -> Iterator[Finding]:
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, aliases)
        if name is None:
            continue
        name = name.removeprefix("builtins.")
        if name in _DANGEROUS_CALLS:
            severity, rule, message = _DANGEROUS_CALLS[name]
            yield _finding(severity, file, node.lineno, rule, message)
        elif name in _SUBPROCESS_CALLS:
            shell = _keyword(node, "shell")
            if isinstance(shell, ast.Constant) and shell.value is True:
                yield _finding(
                    "high",
                    file,
                    node.lineno,
                    "subprocess-shell",
                    f"{name}(shell=True) runs a shell; pass an argument list without shell=True",
                )
        elif name in _YAML_LOADS:
            loader = _keyword(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            loader_name = _qualified(loader, aliases) if loader is not None else None
            if not (loader_name and loader_name.endswith(_SAFE_YAML_LOADERS)):
                yield _finding(
                    "high",
                    file,
                    node.lineno,
                    "unsafe-yaml-load",
                    f"{name}() without Loader=yaml.SafeLoader builds arbitrary objects; use yaml.safe_load",
                )


def _handler_findings(file: str, tree: ast.Module) -> tuple[bool, list[Finding]]:
    """Whether the module defines a Lambda handler at top level, and problems with its signature."""
    found = False
    problems: list[Finding] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in _HANDLER_NAMES:
            found = True
            positional = [*node.args.posonlyargs, *node.args.args]
            required = len(positional) - len(node.args.defaults)
            if node.args.vararg is None and (len(positional) < 2 or required > 2):
                problems.append(
                    _finding(
                        "high",
                        file,
                        node.lineno,
                        "handler-signature",
                        f"{node.name} takes {len(positional)} positional parameters ({required} required); "
                        "Lambda calls it with (event, context)",
                    )
                )
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found |= any(isinstance(t, ast.Name) and t.id in _HANDLER_NAMES for t in targets)
        elif isinstance(node, ast.ImportFrom):
            found |= any((a.asname or a.name) in _HANDLER_NAMES for a in node.names)
    return found, problems


def _bare_except_findings(file: str, tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            yield _finding(
                "medium",
                file,
                node.lineno,
                "bare-except",
                "bare `except:` also catches SystemExit and KeyboardInterrupt and hides bugs; "
                "catch the exceptions you expect",
            )


def _parse(file: str, source: str) -> tuple[ast.Module | None, Finding | None]:
    try:
        return ast.parse(source, filename=file), None
    except SyntaxError as exc:
        return None, _finding("critical", file, exc.lineno, "syntax-error", f"syntax error: {exc.msg}")
    except ValueError as exc:  # source with NUL bytes
        return None, _finding("critical", file, None, "syntax-error", f"cannot be parsed: {exc}")


def _is_python_file(name: str) -> bool:
    return name.endswith(".py") or "." not in name.rsplit("/", 1)[-1]


def code_findings(files: Mapping[str, str], language: str) -> tuple[list[Finding], list[str], bool]:
    """Findings of /validate-code, notes on what was not analysed, and whether anything was analysed."""
    if language not in PYTHON_ALIASES:
        note = f"{language} code is not analysed: only Python is; no check ran, so this is not a pass"
        return [_finding("info", name, None, "not-analysed", note) for name in sorted(files)], [note], False
    findings: list[Finding] = []
    notes: list[str] = []
    python = {name: src for name, src in files.items() if _is_python_file(name)}
    for name in sorted(set(files) - set(python)):
        notes.append(f"{name} is not a Python file and was only scanned for credentials")
    has_handler = False
    for name, source in sorted(python.items()):
        tree, error = _parse(name, source)
        if tree is None:
            findings += [error] if error else []
            continue
        found, problems = _handler_findings(name, tree)
        has_handler |= found
        findings += [*problems, *_call_findings(name, tree), *_bare_except_findings(name, tree)]
    findings += secret_findings(files)
    parsed_all = not any(f.rule == "syntax-error" for f in findings)
    if python and parsed_all and not has_handler:
        findings.append(
            _finding(
                "high",
                ", ".join(sorted(python)),
                None,
                "missing-handler",
                "no lambda_handler(event, context) or handler(event, context) at module level: "
                "Lambda would not find the entry point",
            )
        )
    if not python:
        notes.append("no Python file to analyse")
    return findings, notes, bool(python)


# -- code: secrets ---------------------------------------------------------------------------------

_SECRET_PATTERNS: tuple[tuple[str, Severity, re.Pattern[str], str], ...] = (
    ("aws-access-key-id", "critical", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (
        "private-key",
        "critical",
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
        "a private key",
    ),
    (
        "access-token",
        "critical",
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|[rs]k_live_[A-Za-z0-9]{16,})\b"
        ),
        "an API access token",
    ),
    (
        "jwt",
        "high",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        "a JSON Web Token",
    ),
    (
        "hard-coded-password",
        "high",
        re.compile(r"(?i)\b(?:password|passwd|pwd)['\"]?\s*[:=]\s*(['\"])(?P<secret>[^'\"\s]{4,})\1"),
        "a hard-coded password",
    ),
    (
        "hard-coded-token",
        "high",
        re.compile(
            r"(?i)\b(?:api[_-]?key|auth[_-]?token|access[_-]?token|secret[_-]?key|client[_-]?secret|token)"
            r"['\"]?\s*[:=]\s*(['\"])(?P<secret>[A-Za-z0-9_\-./+=]{16,})\1"
        ),
        "a hard-coded token or API key",
    ),
)
_SECRET_KEY_RE = re.compile(r"(?<![A-Za-z0-9/+=])(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_SECRET_WORD_RE = re.compile(r"(?i)secret")


def secret_findings(files: Mapping[str, str]) -> list[Finding]:
    """Secret-like strings in the code, line by line, masked; one finding per rule and line."""
    findings: dict[tuple[str, int, str], Finding] = {}
    for name, source in sorted(files.items()):
        for number, line in enumerate(source.splitlines(), start=1):
            for rule, severity, pattern, what in _SECRET_PATTERNS:
                match = pattern.search(line)
                if match:
                    secret = match.groupdict().get("secret") or match.group(0)
                    findings.setdefault(
                        (name, number, rule),
                        _finding(
                            severity,
                            name,
                            number,
                            rule,
                            f"{what} in the code: {_mask(secret)}; "
                            "read it from Secrets Manager or the environment",
                        ),
                    )
            key = _SECRET_KEY_RE.search(line)
            if key and _SECRET_WORD_RE.search(line):
                findings.setdefault(
                    (name, number, "aws-secret-access-key"),
                    _finding(
                        "critical",
                        name,
                        number,
                        "aws-secret-access-key",
                        f"what looks like an AWS secret access key: {_mask(key.group('secret'))}",
                    ),
                )
    return list(findings.values())


# -- IAM policies -------------------------------------------------------------------------------------

_READ_VERBS = (
    "Get",
    "List",
    "Describe",
    "BatchGet",
    "Query",
    "Scan",
    "Head",
    "View",
    "Search",
    "Select",
    "Lookup",
)
#: Actions AWS only grants on ``*`` (they have no resource ARN).
_STAR_ONLY_ACTIONS = frozenset(
    {
        "cloudwatch:putmetricdata",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "ec2:createnetworkinterface",
        "ec2:describenetworkinterfaces",
        "ec2:deletenetworkinterface",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
    }
)


def named_policies(value: Any) -> dict[str, Any]:
    """Policy documents by name from what a caller sent: one document, a list, or a name->document map."""

    def document(item: Any) -> Any:
        if isinstance(item, Mapping) and "PolicyDocument" in item:
            return item["PolicyDocument"]
        return item

    if not isinstance(value, list | Mapping):
        raise InvalidInputError(
            f"iam_policies must be a JSON object or array of policy documents; got a {type(value).__name__}"
        )
    policies: dict[str, Any]
    if isinstance(value, list):
        policies = {}
        for index, item in enumerate(value):
            name = item.get("PolicyName") if isinstance(item, Mapping) else None
            policies[str(name or f"policy[{index}]")] = document(item)
    elif "Statement" in value:
        policies = {"policy": value}
    else:
        policies = {str(name): document(doc) for name, doc in value.items()}
    for name, doc in policies.items():
        if not isinstance(doc, Mapping) or "Statement" not in doc:
            raise InvalidInputError(
                f"iam_policies: {name} is not an IAM policy document (an object with a Statement); send one "
                "document, a list of documents, or an object mapping policy names to documents"
            )
    return policies


def template_policies(template: Mapping[str, Any]) -> dict[str, Any]:
    """The IAM policy documents of a template: inline role policies, policies and managed policies."""
    policies: dict[str, Any] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping):
            continue
        properties = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::IAM::Role":
            for policy in properties.get("Policies") or []:
                name = policy.get("PolicyName")
                policies[f"{logical_id}/{name if isinstance(name, str) else 'inline'}"] = policy.get(
                    "PolicyDocument"
                )
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            policies[logical_id] = properties.get("PolicyDocument")
    return {name: doc for name, doc in policies.items() if isinstance(doc, Mapping)}


def _is_read(action: str) -> bool:
    verb = action.split(":", 1)[-1]
    return verb.startswith(_READ_VERBS)


def _public(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in _as_list(value) for value in principal.values())
    return False


def iam_findings(name: str, document: Mapping[str, Any]) -> Iterator[Finding]:
    """Findings for every Allow statement of one policy document."""
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        where = f"statement {index}" + (f" ({statement['Sid']})" if statement.get("Sid") else "")
        conditioned = bool(statement.get("Condition"))
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if "NotAction" in statement:
            yield _finding(
                "high",
                name,
                None,
                "iam-not-action",
                f"{where}: Allow with NotAction grants every action not listed, including future ones",
            )
        if "NotResource" in statement:
            yield _finding(
                "high",
                name,
                None,
                "iam-not-resource",
                f"{where}: Allow with NotResource grants every resource not listed",
            )
        if "Principal" in statement and _public(statement["Principal"]) and not conditioned:
            yield _finding(
                "critical",
                name,
                None,
                "public-principal",
                f'{where}: allows any principal ("*") without a condition',
            )
        for action in actions:
            if action == "*":
                yield _finding(
                    "critical", name, None, "iam-wildcard-action", f'{where}: Action "*" allows everything'
                )
            elif action.endswith(":*"):
                yield _finding(
                    "high",
                    name,
                    None,
                    "iam-service-wildcard",
                    f"{where}: {action} allows every {action[:-2]} action; list the ones needed",
                )
        wildcard_resource = "*" in resources
        if wildcard_resource and any(a.lower() in ("iam:passrole", "iam:*", "*") for a in actions):
            yield _finding(
                "critical",
                name,
                None,
                "iam-passrole-wildcard",
                f'{where}: iam:PassRole on "*" lets the holder hand any role to a service',
            )
        writes = [a for a in actions if a not in ("*",) and not a.endswith(":*") and not _is_read(a)]
        writes = [a for a in writes if a.lower() not in _STAR_ONLY_ACTIONS and a.lower() != "iam:passrole"]
        if wildcard_resource and writes:
            yield _finding(
                "medium" if conditioned else "high",
                name,
                None,
                "iam-wildcard-resource-write",
                f'{where}: write actions {", ".join(sorted(writes))} on Resource "*"; scope them '
                "to the resources' ARNs",
            )


# -- the template -------------------------------------------------------------------------------------

_PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
_POLICY_KEYS = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")


def _bucket_findings(logical_id: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    if not (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"):
        yield _finding("high", logical_id, None, "s3-encryption", "bucket has no BucketEncryption (SSE-KMS)")
    block = properties.get("PublicAccessBlockConfiguration") or {}
    missing = [flag for flag in _PUBLIC_ACCESS_FLAGS if not _is_true(block.get(flag))]
    if missing:
        yield _finding(
            "high",
            logical_id,
            None,
            "s3-public-access-block",
            f"public access block does not set {', '.join(missing)} to true",
        )
    if properties.get("AccessControl") in ("PublicRead", "PublicReadWrite"):
        yield _finding(
            "critical", logical_id, None, "public-acl", f"bucket ACL is {properties['AccessControl']}"
        )


def _table_findings(logical_id: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    if not _is_true((properties.get("SSESpecification") or {}).get("SSEEnabled")):
        yield _finding(
            "high",
            logical_id,
            None,
            "dynamodb-sse",
            "table has no SSESpecification with SSEEnabled (KMS); the house rule is a customer-managed key",
        )
    pitr = properties.get("PointInTimeRecoverySpecification") or {}
    if not _is_true(pitr.get("PointInTimeRecoveryEnabled")):
        yield _finding("low", logical_id, None, "dynamodb-pitr", "point-in-time recovery is not enabled")


def _key_findings(logical_id: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    symmetric = properties.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    if symmetric and not _is_true(properties.get("EnableKeyRotation")):
        yield _finding(
            "high", logical_id, None, "kms-key-rotation", "symmetric key without EnableKeyRotation"
        )


def _log_group_findings(logical_id: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    if "RetentionInDays" not in properties:
        yield _finding("medium", logical_id, None, "log-group-retention", "log group keeps logs forever")


def _permission_findings(logical_id: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    if properties.get("Principal") == "*":
        yield _finding("critical", logical_id, None, "public-principal", "anyone may invoke the function")


_RESOURCE_RULES: dict[str, Callable[[str, Mapping[str, Any]], Iterator[Finding]]] = {
    "AWS::S3::Bucket": _bucket_findings,
    "AWS::DynamoDB::Table": _table_findings,
    "AWS::DynamoDB::GlobalTable": _table_findings,
    "AWS::KMS::Key": _key_findings,
    "AWS::Logs::LogGroup": _log_group_findings,
    "AWS::Lambda::Permission": _permission_findings,
}


def _resource_findings(logical_id: str, kind: str, properties: Mapping[str, Any]) -> Iterator[Finding]:
    rules = _RESOURCE_RULES.get(kind)
    if rules is not None:
        yield from rules(logical_id, properties)
    for key in _POLICY_KEYS:
        document = properties.get(key)
        if isinstance(document, Mapping):
            yield from (f for f in iam_findings(logical_id, document) if f.rule == "public-principal")


def template_findings(template: Mapping[str, Any]) -> list[Finding]:
    """Findings of /compliance-check for a CloudFormation template (empty if there is none)."""
    resources = {str(k): v for k, v in (template.get("Resources") or {}).items() if isinstance(v, Mapping)}
    findings: list[Finding] = []
    for logical_id, resource in resources.items():
        kind = str(resource.get("Type", ""))
        findings += _resource_findings(logical_id, kind, resource.get("Properties") or {})
        if kind in LAMBDA_FUNCTION_TYPES:
            group_id = log_group_of(template, logical_id)
            if group_id is None:
                findings.append(
                    _finding(
                        "high",
                        logical_id,
                        None,
                        "lambda-log-retention",
                        "function has no AWS::Logs::LogGroup with RetentionInDays; Lambda would create "
                        "/aws/lambda/<name> that keeps logs forever",
                    )
                )
    return findings


def code_compliance_findings(files: Mapping[str, str]) -> list[Finding]:
    """Configuration that belongs in the environment but is hard-coded in Python code."""
    findings: list[Finding] = []
    for name, source in sorted(files.items()):
        if not _is_python_file(name):
            continue
        tree, _ = _parse(name, source)
        if tree is None:
            findings.append(_finding("info", name, None, "not-analysed", "does not parse; code not checked"))
            continue
        findings += _configuration_findings(name, tree)
    return findings


def _configuration_findings(file: str, tree: ast.AST) -> Iterable[Finding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword, (rule, message) in _CONFIG_KEYWORDS.items():
                value = _keyword(node, keyword)
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield _finding("medium", file, node.lineno, rule, f"{message} ({value.value!r})")
            if isinstance(node.func, ast.Name) and node.func.id == "print":
                yield _finding(
                    "low",
                    file,
                    node.lineno,
                    "print-logging",
                    "print() instead of a structured logger (Powertools Logger)",
                )
