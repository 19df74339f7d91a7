"""The code-generator's action group: the Lambda code, the agent configuration and the OpenAPI schema.

Operations (phase ``code``), every one a POST carrying ``job_name``. Each stores the agent model's raw
answer (``{operation}_raw_response.json``) before converting it, then:

- ``/generate-lambda-code``: extracts Python code (fenced blocks, or a JSON map file name -> code), parses
  every ``.py`` file, requires a handler ``def <name>(event, context)`` and stores each file plus
  ``lambda_code.json`` (the file map). File names are flat: a map key such as ``src/app.py`` is rejected,
  not flattened, because flattening would break the imports between files. File names this function
  stores its own documents under (``lambda_code.json``, ``agent_config.json``, ``openapi_schema.json``,
  ``*_raw_response.json``) are rejected too. Only Python runtimes are supported.
- ``/generate-agent-config``: converts the answer into an :class:`~autoninja.documents.AgentConfig`
  (Bedrock's CreateAgent limits) and stores ``agent_config.json``.
- ``/generate-openapi-schema``: parses the answer (YAML or JSON), validates it as an OpenAPI 3.x schema
  Bedrock can use and stores ``openapi_schema.json``.
"""

from __future__ import annotations

import ast
import json
from typing import Annotated

from aws_lambda_powertools.event_handler import BedrockAgentResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from autoninja.action import PersistedAction, current_action
from autoninja.artifacts import validate_filename
from autoninja.contract import JobRequest
from autoninja.conversion import extract_code, fenced_blocks
from autoninja.documents import (
    AGENT_CONFIG_ARTIFACT,
    LAMBDA_CODE_ARTIFACT,
    OPENAPI_SCHEMA_ARTIFACT,
    REQUIREMENTS_ARTIFACT,
    AgentConfig,
    LambdaCodeBundle,
    ModelText,
    OpenApiDocument,
    OptionalJsonObject,
    OptionalText,
    convert,
    extract_object,
    given_or_stored,
    operation,
    store_raw_response,
    stored_artifacts,
)
from autoninja.errors import ConversionError, InvalidInputError, InvalidKeyError
from autoninja.models import Agent

app = BedrockAgentResolver(enable_validation=True)

_REQUIREMENTS_GIVEN_OR_STORED = (
    "The requirements as a JSON object (a string holding JSON). Omit it to use the requirements this job "
    "stored with the requirements analyst's /extract-requirements."
)
#: The file a single block of code is stored as when the function spec names no handler.
DEFAULT_HANDLER = "lambda_function.lambda_handler"
#: Handler function names looked for, in order, when the function spec names none.
HANDLER_NAMES = ("lambda_handler", "handler")
#: File names of this function's own documents, which generated code may not take (nor any
#: ``*_raw_response.json``).
RESERVED_FILENAMES = frozenset(
    {LAMBDA_CODE_ARTIFACT.filename, AGENT_CONFIG_ARTIFACT.filename, OPENAPI_SCHEMA_ARTIFACT.filename}
)

# -- requests and responses -------------------------------------------------------------------------


class GenerateLambdaCodeRequest(JobRequest):
    """The requirements (or the stored ones), an optional function spec, and the model's code."""

    requirements: Annotated[OptionalJsonObject, Field(description=_REQUIREMENTS_GIVEN_OR_STORED)] = None
    function_spec: Annotated[
        OptionalJsonObject,
        Field(
            description="Optional JSON object describing the function, e.g. "
            '{"name": "memory-actions", "runtime": "python3.12", "handler": "lambda_function.lambda_handler"}'
        ),
    ] = None
    lambda_code: Annotated[
        ModelText,
        Field(
            description="Your complete Python code: one ```python fence for a single file, or a JSON object "
            "mapping flat file names to code for several files (no folders). It must define the handler, "
            "def lambda_handler(event, context), at module level."
        ),
    ]


class GenerateAgentConfigRequest(JobRequest):
    """The requirements (or the stored ones) and the model's agent configuration."""

    requirements: Annotated[OptionalJsonObject, Field(description=_REQUIREMENTS_GIVEN_OR_STORED)] = None
    agent_config: Annotated[
        ModelText,
        Field(
            description="Your complete answer holding the agent configuration as a JSON object: agent_name "
            "(letters, digits, '-' or '_'), instruction (40-4000 characters), foundation_model, and "
            "optionally description (up to 200 characters), idle_session_ttl_in_seconds (60-5400), "
            "action_groups (list of {name, description, lambda_function, api_schema}) and "
            'memory_configuration ({"enabled_memory_types": ["SESSION_SUMMARY"], "storage_days": 30}).'
        ),
    ]


class GenerateOpenApiSchemaRequest(JobRequest):
    """An optional action-group spec and the model's OpenAPI schema."""

    action_group_spec: Annotated[
        OptionalText, Field(description="Optional: the action group the schema is for (JSON or text)")
    ] = None
    openapi_schema: Annotated[
        ModelText,
        Field(
            description="Your complete OpenAPI 3.x schema, YAML or JSON, ideally in a ```yaml fence. Every "
            "operation needs an operationId, a description and responses."
        ),
    ]


class CodeFile(BaseModel):
    """One stored code file."""

    name: str
    size_bytes: int
    lines: int
    uri: str


class GenerateLambdaCodeResponse(BaseModel):
    """What was stored (the code itself is in the files and lambda_code.json)."""

    job_name: str
    handler: str = Field(description="module.function Lambda calls")
    runtime: str
    files: list[CodeFile]
    requirements_source: str
    artifacts: dict[str, str] = Field(description="Stored file name -> s3:// URI")


class GenerateAgentConfigResponse(BaseModel):
    """The agent configuration as stored, and where."""

    job_name: str
    agent_config: AgentConfig
    requirements_source: str
    artifacts: dict[str, str]


class OpenApiOperationSummary(BaseModel):
    """One operation of the stored schema."""

    method: str
    path: str
    operation_id: str


class GenerateOpenApiSchemaResponse(BaseModel):
    """A summary of the stored schema (the schema itself is in openapi_schema.json)."""

    job_name: str
    openapi: str
    title: str
    operations: list[OpenApiOperationSummary]
    artifacts: dict[str, str]


# -- operations -------------------------------------------------------------------------------------


@operation(
    app,
    "/generate-lambda-code",
    summary="Store and check the Python code of an action-group Lambda function",
    description=(
        "Call this after you have written the Lambda function's code. Pass your complete answer: one "
        "```python fence, or a JSON object mapping flat file names (no folders) to code. Every Python file "
        "is parsed, a handler def lambda_handler(event, context) (or the one function_spec.handler names) "
        "must exist, and each file is stored, with lambda_code.json holding the file map. Uses the job's "
        "stored requirements unless requirements are passed. A 422 response says which file and line is "
        "wrong; fix it and call again."
    ),
    operation_id="generateLambdaCode",
)
def generate_lambda_code(body: Annotated[GenerateLambdaCodeRequest, Body()]) -> GenerateLambdaCodeResponse:
    action = current_action()
    store_raw_response(action, field="lambda_code", text=body.lambda_code, request=body)
    requirements = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    spec = body.function_spec or {}
    runtime = _runtime(spec)
    bundle = build_bundle(body.lambda_code, handler=_handler_hint(spec))
    stored = {name: action.store(name, code) for name, code in bundle.files.items()}
    action.store(LAMBDA_CODE_ARTIFACT.filename, bundle.files)
    return GenerateLambdaCodeResponse(
        job_name=action.job_name,
        handler=bundle.handler,
        runtime=runtime,
        files=[
            CodeFile(
                name=name, size_bytes=item.size, lines=len(bundle.files[name].splitlines()), uri=item.uri
            )
            for name, item in stored.items()
        ],
        requirements_source=requirements.source,
        artifacts=stored_artifacts(action),
    )


@operation(
    app,
    "/generate-agent-config",
    summary="Store and validate the Bedrock agent configuration",
    description=(
        "Call this after you have written the configuration of the agent to build. Pass your complete "
        "answer holding it as JSON (agent_name, instruction of 40-4000 characters, foundation_model, "
        "optional description, idle_session_ttl_in_seconds, action_groups and memory_configuration; "
        "snake_case or Bedrock's camelCase keys). It is stored as given, validated against Bedrock's "
        "CreateAgent limits and stored as agent_config.json. Uses the job's stored requirements unless "
        "requirements are passed. A 422 response names each problem; fix them and call again."
    ),
    operation_id="generateAgentConfig",
)
def generate_agent_config(body: Annotated[GenerateAgentConfigRequest, Body()]) -> GenerateAgentConfigResponse:
    action = current_action()
    store_raw_response(action, field="agent_config", text=body.agent_config, request=body)
    requirements = given_or_stored(action, body.requirements, REQUIREMENTS_ARTIFACT)
    config = convert(AgentConfig, extract_object(body.agent_config, what="agent_config"), what="agent_config")
    action.store(AGENT_CONFIG_ARTIFACT.filename, config.model_dump(mode="json", exclude_none=True))
    return GenerateAgentConfigResponse(
        job_name=action.job_name,
        agent_config=config,
        requirements_source=requirements.source,
        artifacts=stored_artifacts(action),
    )


@operation(
    app,
    "/generate-openapi-schema",
    summary="Store and validate the OpenAPI schema of an action group",
    description=(
        "Call this after you have written the OpenAPI schema of the agent's action group. Pass the "
        "complete schema (YAML or JSON). It is stored as given, validated as OpenAPI 3.x with paths whose "
        "every operation has an operationId (unique), a description and responses, as Bedrock requires, "
        "and stored as openapi_schema.json. A 422 response names each problem; fix them and call again."
    ),
    operation_id="generateOpenApiSchema",
)
def generate_openapi_schema(
    body: Annotated[GenerateOpenApiSchemaRequest, Body()],
) -> GenerateOpenApiSchemaResponse:
    action = current_action()
    store_raw_response(action, field="openapi_schema", text=body.openapi_schema, request=body)
    document = extract_object(body.openapi_schema, what="openapi_schema", structured=True)
    schema = convert(OpenApiDocument, document, what="openapi_schema")
    action.store(OPENAPI_SCHEMA_ARTIFACT.filename, document)
    return GenerateOpenApiSchemaResponse(
        job_name=action.job_name,
        openapi=schema.openapi,
        title=schema.info.title,
        operations=[OpenApiOperationSummary(**op) for op in schema.operation_list()],
        artifacts=stored_artifacts(action),
    )


# -- Lambda code rules ------------------------------------------------------------------------------


def _runtime(spec: dict[str, object]) -> str:
    runtime = spec.get("runtime", "python3.12")
    if not isinstance(runtime, str) or not runtime.startswith("python"):
        raise InvalidInputError(
            f"function_spec.runtime {runtime!r} is not supported: this operation checks and stores Python "
            "code only (use a python3.x runtime)"
        )
    return runtime


def _handler_hint(spec: dict[str, object]) -> str | None:
    handler = spec.get("handler")
    if handler is None:
        return None
    module, _, function = handler.rpartition(".") if isinstance(handler, str) else ("", "", "")
    if not module.isidentifier() or not function.isidentifier():
        raise InvalidInputError(
            f"function_spec.handler {handler!r} must be module.function, e.g. {DEFAULT_HANDLER!r}"
        )
    return f"{module}.{function}"


def _check_filename(name: str) -> None:
    if "/" in name or "\\" in name:
        raise ConversionError(
            f"lambda_code: file {name!r} is in a folder; files are stored flat, so send {{'app.py': ...}} "
            "with flat names (folders are not flattened because that would break imports)"
        )
    try:
        validate_filename(name)
    except InvalidKeyError as exc:
        raise ConversionError(f"lambda_code: {exc}") from None
    if name in RESERVED_FILENAMES or name.endswith("_raw_response.json"):
        raise ConversionError(
            f"lambda_code: file name {name!r} is reserved for this function's own documents"
        )


def _functions(name: str, code: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module-level functions of a Python file; :class:`ConversionError` if it does not parse."""
    try:
        tree = ast.parse(code, filename=name)
    except SyntaxError as exc:
        raise ConversionError(
            f"lambda_code: {name} is not valid Python (line {exc.lineno}: {exc.msg})"
        ) from None
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _takes_event_and_context(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = function.args
    return bool(args.vararg) or len(args.posonlyargs) + len(args.args) >= 2


def _fenced_file_map(text: str) -> dict[str, str] | None:
    """A ```json fence holding ``{file name: code}`` (extract_code reads such a map only unfenced)."""
    for language, block in fenced_blocks(text):
        if language != "json":
            continue
        try:
            files = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(files, dict) and files and all(isinstance(v, str) for v in files.values()):
            return {str(name): code for name, code in files.items()}
    return None


def build_bundle(text: str, *, handler: str | None) -> LambdaCodeBundle:
    """The model's code as checked files and the handler Lambda should call."""
    code = _fenced_file_map(text) or extract_code(text, language="python", what="lambda_code")
    module_hint = (handler or DEFAULT_HANDLER).split(".", 1)[0]
    files = code if isinstance(code, dict) else {f"{module_hint}.py": code}
    for name, content in files.items():
        _check_filename(name)
        if not content.strip():
            raise ConversionError(f"lambda_code: file {name!r} is empty")
    modules = {
        name[: -len(".py")]: _functions(name, content)
        for name, content in files.items()
        if name.endswith(".py")
    }
    if not modules:
        raise ConversionError(f"lambda_code: no Python file among {', '.join(sorted(files))}")
    if handler is not None:
        module, function = handler.split(".", 1)
        candidates = [(module, function)]
    else:
        candidates = [(m, f) for f in HANDLER_NAMES for m in sorted(modules)]
    for module, function in candidates:
        node = modules.get(module, {}).get(function)
        if node is None:
            continue
        if not _takes_event_and_context(node):
            raise ConversionError(
                f"lambda_code: handler {module}.{function} must accept (event, context), "
                f"as Lambda calls it with both"
            )
        return LambdaCodeBundle(files=files, handler=f"{module}.{function}")
    wanted = handler or " or ".join(f"def {f}(event, context)" for f in HANDLER_NAMES)
    raise ConversionError(
        f"lambda_code: no handler found ({wanted}) at module level of {', '.join(sorted(files))}"
    )


lambda_handler = PersistedAction(app, agent_name=Agent.CODE_GENERATOR)
