"""The requirements-analyst's action group: extract, rate and check the requirements of an agent to build.

Operations (phase ``requirements``), every one a POST carrying ``job_name``:

- ``/extract-requirements``: stores the agent model's raw answer (``extract-requirements_raw_response.json``),
  converts it into :class:`~autoninja.documents.Requirements` and stores ``requirements.json``.
- ``/analyze-complexity``: rates the requirements (given, else the job's stored ones) with fixed rules;
  stores ``complexity.json``.
- ``/validate-requirements``: checks the requirements (given, else stored) and reports every issue;
  stores ``requirements_validation.json``. Invalid requirements are a 200 with ``valid: false``: the
  check ran, and its finding is the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field, ValidationError

from autoninja.action import PersistedAction, current_action
from autoninja.contract import JobRequest
from autoninja.documents import (
    COMPLEXITY_ARTIFACT,
    REQUIREMENTS_ARTIFACT,
    REQUIREMENTS_VALIDATION_ARTIFACT,
    ComplexityFactor,
    ComplexityLevel,
    ComplexityReport,
    ModelText,
    OptionalJsonObject,
    Requirements,
    RequirementsValidation,
    Severity,
    ValidationIssue,
    convert,
    extract_object,
    given_or_stored,
    mentions,
    operation,
    parse_input,
    store_raw_response,
    stored_artifacts,
    validation_problems,
)
from autoninja.models import Agent

app = BedrockAgentResolver(enable_validation=True)

_REQUIREMENTS_SHAPE = (
    "a JSON object with agent_purpose (string), functional_requirements (non-empty list of strings), "
    "and optionally agent_name, target_users, non_functional_requirements, integrations, data_sources, "
    "interaction_style, constraints, success_criteria, assumptions"
)
_GIVEN_OR_STORED = (
    "The requirements as a JSON object (a string holding JSON). Omit it to use the requirements this job "
    "stored with /extract-requirements."
)

# -- requests and responses -------------------------------------------------------------------------


class ExtractRequirementsRequest(JobRequest):
    """The user's request and the model's answer holding the requirements as JSON."""

    user_request: Annotated[str, Field(min_length=1, description="The user's request, word for word")]
    requirements: Annotated[
        ModelText,
        Field(description=f"Your complete answer: {_REQUIREMENTS_SHAPE}; a ```json fence is fine."),
    ]


class RequirementsRequest(JobRequest):
    """Requirements to rate or check; absent means the job's stored ones."""

    requirements: Annotated[OptionalJsonObject, Field(description=_GIVEN_OR_STORED)] = None


class ExtractRequirementsResponse(BaseModel):
    """The requirements as stored, and where."""

    job_name: str
    requirements: Requirements
    artifacts: dict[str, str] = Field(description="Stored file name -> s3:// URI")


class ComplexityResponse(BaseModel):
    """The complexity report, and where it is stored."""

    job_name: str
    complexity: ComplexityReport
    artifacts: dict[str, str]


class ValidationResponse(BaseModel):
    """The outcome of the requirements checks, and where it is stored."""

    job_name: str
    validation: RequirementsValidation
    artifacts: dict[str, str]


# -- operations -------------------------------------------------------------------------------------


@operation(
    app,
    "/extract-requirements",
    summary="Store and convert the requirements extracted from the user's request",
    description=(
        "Call this after you have analysed the user's request. Pass the request and your complete answer "
        f"holding the requirements ({_REQUIREMENTS_SHAPE}). The answer is stored as given, converted, "
        "validated and stored as requirements.json. A 422 response names what is missing or malformed; "
        "fix the JSON and call again."
    ),
    operation_id="extractRequirements",
)
def extract_requirements(body: Annotated[ExtractRequirementsRequest, Body()]) -> ExtractRequirementsResponse:
    action = current_action()
    store_raw_response(action, field="requirements", text=body.requirements, request=body)
    document = extract_object(body.requirements, what="requirements")
    requirements = convert(Requirements, document, what="requirements")
    action.store(REQUIREMENTS_ARTIFACT.filename, requirements.model_dump(mode="json"))
    return ExtractRequirementsResponse(
        job_name=action.job_name, requirements=requirements, artifacts=stored_artifacts(action)
    )


@operation(
    app,
    "/analyze-complexity",
    summary="Rate the complexity of the requirements (simple, moderate or complex)",
    description=(
        "Scores the requirements with fixed rules (number of functional requirements, integrations, "
        "stored state, scheduled behaviour, demanding non-functional requirements, sensitive data, "
        "multi-modal interaction, workflows) and returns the score, the level and every contributing "
        "factor. Uses the job's stored requirements unless requirements are passed. Stores complexity.json."
    ),
    operation_id="analyzeComplexity",
)
def analyze_complexity(body: Annotated[RequirementsRequest, Body()]) -> ComplexityResponse:
    action = current_action()
    given = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    requirements = parse_input(Requirements, given.document, what="requirements", source=given.source)
    report = rate_complexity(requirements, source=given.source)
    action.store(COMPLEXITY_ARTIFACT.filename, report.model_dump(mode="json"))
    return ComplexityResponse(job_name=action.job_name, complexity=report, artifacts=stored_artifacts(action))


@operation(
    app,
    "/validate-requirements",
    summary="Check the requirements and report every issue found",
    description=(
        "Checks the requirements for a missing or vague purpose, missing or vague functional "
        "requirements, duplicates, conflicting constraints, missing success criteria and non-functional "
        "requirements, and fields that do not match the requirements document. Returns valid=false with "
        "the issues when any issue has severity 'error' (warnings do not invalidate); that is a "
        "successful check, not a failed call. Uses the job's stored requirements unless requirements are "
        "passed. Stores requirements_validation.json."
    ),
    operation_id="validateRequirements",
)
def validate_requirements(body: Annotated[RequirementsRequest, Body()]) -> ValidationResponse:
    action = current_action()
    given = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    report = check_requirements(given.document, source=given.source)
    action.store(REQUIREMENTS_VALIDATION_ARTIFACT.filename, report.model_dump(mode="json"))
    return ValidationResponse(job_name=action.job_name, validation=report, artifacts=stored_artifacts(action))


# -- complexity rules -------------------------------------------------------------------------------

#: Upper bound (inclusive) of the score of each level; anything above the last is "complex".
COMPLEXITY_LEVELS: tuple[tuple[ComplexityLevel, int], ...] = (("simple", 5), ("moderate", 11))

_STATE = (
    r"remember",
    r"memory",
    r"memories",
    r"history",
    r"preference",
    r"profile",
    r"persist",
    r"stor(e|age)",
)
_SCHEDULED = (r"daily", r"weekly", r"schedul", r"remind", r"check[- ]?in", r"cron", r"periodic", r"proactive")
_DEMANDING = {
    "latency": (r"latency", r"real[- ]?time", r"within \d+(\.\d+)? ?(ms|milliseconds?|seconds?|s)\b"),
    "scale": (
        r"\d[\d,]* (daily |monthly |concurrent )?(active )?users",
        r"concurren",
        r"thousands",
        r"millions",
    ),
    "availability": (r"high availability", r"99\.9", r"multi[- ]region", r"failover", r"disaster recovery"),
}
_SENSITIVE = (r"encrypt", r"kms", r"pii", r"personal (data|information)", r"privacy", r"sensitive", r"gdpr")
_REGULATED = (r"hipaa", r"pci", r"sox\b", r"fedramp", r"gdpr", r"complian")
_MULTIMODAL = (r"voice", r"speech", r"audio", r"image", r"photo", r"video", r"multilingual", r"languages")
_WORKFLOW = (r"workflow", r"approval", r"escalat", r"multi[- ]step", r"hand[- ]?off", r"human in the loop")


def _matches(requirements: Requirements, patterns: tuple[str, ...]) -> list[str]:
    """The words of the requirements that match ``patterns``, each once, in order of appearance."""
    found: list[str] = []
    for _, text in requirements.texts():
        found.extend(hit for hit in mentions(text, patterns) if hit not in found)
    return found


def _keywords(hits: list[str]) -> str:
    return ", ".join(repr(hit) for hit in hits)


def rate_complexity(requirements: Requirements, *, source: str) -> ComplexityReport:
    """Score the requirements with the fixed rules below; every point comes with its reason."""
    factors: list[ComplexityFactor] = []

    def add(factor: str, points: int, reason: str) -> None:
        if points:
            factors.append(ComplexityFactor(factor=factor, points=points, reason=reason))

    functional = len(requirements.functional_requirements)
    add(
        "functional_scope",
        1 if functional <= 3 else 2 if functional <= 6 else 3 if functional <= 10 else 4,
        f"{functional} functional requirements (1-3: 1 point, 4-6: 2, 7-10: 3, more: 4)",
    )
    integrations = requirements.integrations
    add(
        "integrations",
        min(len(integrations), 3),
        f"{len(integrations)} integration(s), 1 point each up to 3: {'; '.join(integrations)}",
    )
    if state := _matches(requirements, _STATE):
        add("stateful", 1, f"keeps state across conversations ({_keywords(state)})")
    if scheduled := _matches(requirements, _SCHEDULED):
        add("scheduled_behaviour", 1, f"acts on a schedule, not only when asked ({_keywords(scheduled)})")
    demanding = {
        kind: hits for kind, patterns in _DEMANDING.items() if (hits := _matches(requirements, patterns))
    }
    add(
        "demanding_nfrs",
        min(len(demanding), 2),
        "demanding non-functional requirements, 1 point per kind up to 2: "
        + "; ".join(f"{kind} ({_keywords(hits)})" for kind, hits in demanding.items()),
    )
    if sensitive := _matches(requirements, _SENSITIVE):
        add("sensitive_data", 1, f"handles sensitive or personal data ({_keywords(sensitive)})")
    if regulated := _matches(requirements, _REGULATED):
        add("regulated", 2, f"regulatory or compliance obligations ({_keywords(regulated)})")
    if multimodal := _matches(requirements, _MULTIMODAL):
        add("multimodal", 1, f"beyond plain text chat ({_keywords(multimodal)})")
    if workflow := _matches(requirements, _WORKFLOW):
        add("workflow", 1, f"multi-step or human-in-the-loop workflow ({_keywords(workflow)})")

    score = sum(f.points for f in factors)
    level: ComplexityLevel = next((name for name, upper in COMPLEXITY_LEVELS if score <= upper), "complex")
    (simple_max, moderate_max) = (upper for _, upper in COMPLEXITY_LEVELS)
    thresholds = {
        "simple": f"0-{simple_max}",
        "moderate": f"{simple_max + 1}-{moderate_max}",
        "complex": f"{moderate_max + 1} or more",
    }
    return ComplexityReport(
        score=score,
        level=level,
        factors=factors,
        thresholds=thresholds,
        requirements_source=source,
    )


# -- validation rules -------------------------------------------------------------------------------

MIN_PURPOSE_WORDS = 6
MIN_REQUIREMENT_WORDS = 4
_VAGUE = (
    r"etc\b",
    r"and so on",
    r"something",
    r"stuff",
    r"things\b",
    r"user[- ]friendly",
    r"as needed",
    r"as appropriate",
    r"if possible",
    r"tbd\b",
    r"to be determined",
    r"fast\b",
    r"quickly",
    r"easy\b",
    r"easily",
    r"good\b",
    r"nice\b",
    r"various",
    r"robust",
    r"seamless",
    r"intuitive",
)
#: Pairs of statements that cannot both hold: (name, one side, the other side).
_CONFLICTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "stateless vs remembering",
        (r"stateless", r"(do|must) not (store|persist|keep)", r"no (data )?persistence", r"without storing"),
        (r"remember", r"memory", r"conversation history", r"preferences"),
    ),
    (
        "no personal data vs personalisation",
        (r"anonymous", r"no personal (data|information)", r"(do|must) not (collect|store) personal"),
        (r"user'?s name", r"personali[sz]", r"remember the user"),
    ),
    (
        "offline vs external services",
        (r"offline", r"no internet", r"no external (api|service|call)s?"),
        (r"third[- ]party", r"external api", r"web ?hook", r"internet"),
    ),
    (
        "serverless vs servers",
        (r"serverless",),
        (r"ec2", r"always[- ]on server", r"dedicated server", r"kubernetes", r"eks\b"),
    ),
    (
        "minimal cost vs multi-region availability",
        (r"free tier", r"minimal cost", r"lowest (possible )?cost"),
        (r"multi[- ]region", r"99\.99", r"active[- ]active"),
    ),
)
_LISTS = (
    "functional_requirements",
    "non_functional_requirements",
    "constraints",
    "integrations",
    "data_sources",
    "success_criteria",
)


def _statements(document: dict[str, Any]) -> list[tuple[str, str]]:
    """``(field[index], text)`` for every string statement in the document's lists (others are skipped)."""
    out: list[tuple[str, str]] = []
    purpose = document.get("agent_purpose")
    if isinstance(purpose, str):
        out.append(("agent_purpose", purpose))
    for name in _LISTS:
        items = document.get(name)
        for index, item in enumerate(items if isinstance(items, list) else []):
            text = (
                item if isinstance(item, str) else item.get("description") if isinstance(item, dict) else None
            )
            if isinstance(text, str):
                out.append((f"{name}[{index}]", text.strip()))
    return out


class _Findings:
    """The issues found so far."""

    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []

    def add(self, code: str, severity: Severity, field: str, message: str) -> None:
        self.issues.append(ValidationIssue(code=code, severity=severity, field=field, message=message))


def _check_shape(document: dict[str, Any], found: _Findings) -> None:
    """What does not fit the requirements document (purpose and functional requirements: see below)."""
    try:
        Requirements.model_validate(document)
    except ValidationError as exc:
        for problem in validation_problems(exc):
            if problem["field"] not in ("agent_purpose", "functional_requirements"):
                found.add("schema", "error", problem["field"], problem["problem"])


def _check_purpose(document: dict[str, Any], found: _Findings) -> None:
    purpose = document.get("agent_purpose")
    if not isinstance(purpose, str) or not purpose.strip():
        found.add("missing_purpose", "error", "agent_purpose", "the agent's purpose is missing")
    elif len(purpose.split()) < MIN_PURPOSE_WORDS:
        found.add(
            "vague_purpose",
            "error",
            "agent_purpose",
            f"the purpose {purpose.strip()!r} is too short to design from "
            f"(fewer than {MIN_PURPOSE_WORDS} words)",
        )
    functional = document.get("functional_requirements")
    if not isinstance(functional, list) or not functional:
        found.add(
            "no_functional_requirements", "error", "functional_requirements", "no functional requirements"
        )


def _check_statements(statements: list[tuple[str, str]], found: _Findings) -> None:
    """Blank, vague and repeated statements."""
    seen: dict[str, str] = {}
    for field, text in statements:
        if not text:
            found.add("empty_requirement", "error", field, "the requirement is blank")
            continue
        vague = mentions(text, _VAGUE)
        if vague or len(text.split()) < MIN_REQUIREMENT_WORDS:
            why = f"uses vague wording ({', '.join(vague)})" if vague else "is too short"
            found.add("vague_requirement", "warning", field, f"{text!r} {why}; state it so it can be tested")
        normal = " ".join(text.lower().rstrip(".").split())
        if normal in seen:
            found.add("duplicate_requirement", "warning", field, f"repeats {seen[normal]}: {text!r}")
        seen.setdefault(normal, field)


def _check_conflicts(statements: list[tuple[str, str]], found: _Findings) -> None:
    """Two different statements that cannot both hold."""
    for name, one_side, other_side in _CONFLICTS:
        ones = [(f, t) for f, t in statements if mentions(t, one_side)]
        others = [(f, t) for f, t in statements if mentions(t, other_side)]
        pairs = [(a, b) for a in ones for b in others if a[0] != b[0]]
        if pairs:
            (field_a, text_a), (field_b, text_b) = pairs[0]
            found.add(
                "conflicting_constraints",
                "error",
                f"{field_a}, {field_b}",
                f"{name}: {text_a!r} conflicts with {text_b!r}",
            )


def _check_completeness(document: dict[str, Any], found: _Findings) -> None:
    if not document.get("success_criteria"):
        found.add(
            "no_success_criteria",
            "warning",
            "success_criteria",
            "no success criteria: how will we know it works?",
        )
    if not document.get("non_functional_requirements"):
        found.add(
            "no_non_functional_requirements",
            "warning",
            "non_functional_requirements",
            "no non-functional requirements (latency, privacy, availability, cost)",
        )


#: The checks :func:`check_requirements` runs, by the issue codes they report.
REQUIREMENTS_CHECKS = (
    "schema",
    "missing_purpose",
    "vague_purpose",
    "no_functional_requirements",
    "empty_requirement",
    "vague_requirement",
    "duplicate_requirement",
    "conflicting_constraints",
    "no_success_criteria",
    "no_non_functional_requirements",
)


def check_requirements(document: dict[str, Any], *, source: str) -> RequirementsValidation:
    """Run every check on a requirements document, however malformed, and report what it found."""
    found = _Findings()
    statements = [(field, text) for field, text in _statements(document) if field != "agent_purpose"]
    _check_shape(document, found)
    _check_purpose(document, found)
    _check_statements(statements, found)
    _check_conflicts(statements, found)
    _check_completeness(document, found)
    return RequirementsValidation(
        valid=not any(issue.severity == "error" for issue in found.issues),
        issues=found.issues,
        checks=list(REQUIREMENTS_CHECKS),
        requirements_source=source,
    )


lambda_handler = PersistedAction(app, agent_name=Agent.REQUIREMENTS_ANALYST)
