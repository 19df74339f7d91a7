"""The persisted action: the one flow every action-group function runs, for every operation.

1. Log the raw event as an ``in_progress`` record, before anything else (so an invalid event is
   still on record; one whose ``job_name`` is missing or invalid is filed under the day's
   ``job-unattributed-YYYYMMDD-000000``).
2. Validate the event and do the work: Powertools' ``BedrockAgentResolver`` routes it to the
   operation and validates the body against the operation's pydantic model.
3. The operation stores its artifacts (raw and converted) through :func:`current_action`.
4. Mark the record ``success`` with the response, the artifact URIs and the duration, only after
   the operation returned, so success is never recorded before the work is stored.
5. On any failure, mark it ``error`` with the error type and message. The agent always gets a
   well-formed Bedrock response with a 4xx or 5xx status, never an unhandled exception.

Example (a function's ``app.py``)::

    app = BedrockAgentResolver(enable_validation=True)

    @app.post("/analyze-complexity", description="Rate the complexity of the requirements")
    def analyze_complexity(body: Annotated[JobRequest, Body()]) -> dict:
        action = current_action()
        report = rules.complexity(action.read_json(Phase.REQUIREMENTS, ..., "requirements.json"))
        action.store("complexity.json", report)
        return report

    lambda_handler = PersistedAction(app, agent_name="requirements-analyst")
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from autoninja.artifacts import ArtifactStore, InMemoryObjectStore, S3ObjectStore, StoredObject
from autoninja.errors import AutoNinjaError
from autoninja.jobs import is_job_name, unattributed_job_name
from autoninja.models import Phase, Status
from autoninja.observability import Observability
from autoninja.records import DynamoInferenceTable, InferenceLog, InMemoryInferenceTable, RecordHandle
from autoninja.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import BedrockAgentResolver

_current: ContextVar[ActionContext] = ContextVar("autoninja_action")


@dataclass
class Runtime:
    """What an action needs at run time: settings, the inference log and the artifact store."""

    settings: Settings
    log: InferenceLog
    artifacts: ArtifactStore

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """The runtime against the configured AWS resources (clients are created lazily)."""
        objects = S3ObjectStore.from_settings(settings)
        log = InferenceLog(
            DynamoInferenceTable.from_settings(settings),
            objects,
            payload_threshold_bytes=settings.payload_threshold_bytes,
        )
        return cls(settings=settings, log=log, artifacts=ArtifactStore(objects))

    @classmethod
    def in_memory(cls, settings: Settings) -> Runtime:
        """A runtime over the in-memory fakes, for fast tests."""
        objects = InMemoryObjectStore(bucket=settings.artifact_bucket)
        log = InferenceLog(
            InMemoryInferenceTable(), objects, payload_threshold_bytes=settings.payload_threshold_bytes
        )
        return cls(settings=settings, log=log, artifacts=ArtifactStore(objects))


@dataclass
class ActionContext:
    """The invocation an operation runs in: its job, agent and phase, and where its artifacts go."""

    job_name: str
    agent_name: str
    action_name: str
    session_id: str | None
    phase: Phase
    artifacts: ArtifactStore
    stored: list[StoredObject] = field(default_factory=list)
    error: BaseException | None = None
    error_type: str | None = None
    error_message: str | None = None

    def store(self, filename: str, content: bytes | str | Mapping[str, Any] | list[Any]) -> StoredObject:
        """Store an artifact of this job under this agent's phase and name; returns where it went."""
        stored = self.artifacts.put(self.job_name, self.phase, self.agent_name, filename, content)
        self.stored.append(stored)
        return stored

    def read_json(self, phase: Phase, agent_name: str, filename: str) -> Any:
        """Read a JSON artifact of this job (for example the stored requirements)."""
        return self.artifacts.get_json(self.job_name, phase, agent_name, filename)

    def read_text(self, phase: Phase, agent_name: str, filename: str) -> str:
        """Read a text artifact of this job."""
        return self.artifacts.get_text(self.job_name, phase, agent_name, filename)


def current_action() -> ActionContext:
    """The action being handled; only valid inside an operation run by :class:`PersistedAction`."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("current_action() called outside a PersistedAction invocation") from None


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def event_job_name(event: Mapping[str, Any]) -> str | None:
    """The ``job_name`` an event carries, in its parameters or its JSON request body, if any.

    Any shape is tolerated (this runs on the raw event, before it is validated): what is not a list
    of ``{"name": ..., "value": ...}`` objects simply carries no job name.
    """
    candidates = _listed(event.get("parameters"))
    body = event.get("requestBody")
    if isinstance(body, Mapping):
        content = body.get("content")
        if isinstance(content, Mapping):
            json_body = content.get("application/json")
            if isinstance(json_body, Mapping):
                candidates.extend(_listed(json_body.get("properties")))
    for prop in candidates:
        if (
            isinstance(prop, Mapping)
            and prop.get("name") == "job_name"
            and isinstance(prop.get("value"), str)
        ):
            return str(prop["value"])
    return None


def envelope_problem(event: Mapping[str, Any]) -> str | None:
    """What makes ``event`` not a Bedrock action-group event (``None`` when its shape is right).

    Why: the resolver assumes the documented shape and fails with a bare ``TypeError`` or
    ``AttributeError`` on anything else, which would read as a server fault (500). Checking the
    envelope first turns that into a 400 that says what is wrong. Only the shape is checked here;
    the values are the operation's pydantic model's job.
    """
    for name in ("apiPath", "httpMethod"):
        if not isinstance(event.get(name), str) or not event.get(name):
            return f"{name} must be a non-empty string"
    lists = {"parameters": event.get("parameters")}
    body = event.get("requestBody")
    if body is not None:
        if not isinstance(body, Mapping):
            return f"requestBody must be an object, not {type(body).__name__}"
        content = body.get("content")
        if not isinstance(content, Mapping):
            return "requestBody.content must be an object"
        for media_type, media in content.items():
            if not isinstance(media, Mapping):
                return f"requestBody.content[{media_type!r}] must be an object"
            lists[f"requestBody.content[{media_type!r}].properties"] = media.get("properties")
    for where, value in lists.items():
        if value is None:
            continue
        if not isinstance(value, list):
            return f"{where} must be a list, not {type(value).__name__}"
        for index, prop in enumerate(value):
            if not isinstance(prop, Mapping) or not isinstance(prop.get("name"), str):
                return f"{where}[{index}] must be an object with a string name"
    return None


def error_envelope(event: Mapping[str, Any], status: int, error_type: str, message: str) -> dict[str, Any]:
    """A well-formed Bedrock action-group response for an event the resolver could not handle."""

    def text(name: str) -> str:
        value = event.get(name)
        return value if isinstance(value, str) else ""

    body = json.dumps({"error": error_type, "message": _for_the_agent(message)})
    return {
        "messageVersion": "1.0",
        "response": {
            "actionGroup": text("actionGroup"),
            "apiPath": text("apiPath"),
            "httpMethod": text("httpMethod"),
            "httpStatusCode": status,
            "responseBody": {"application/json": {"body": body}},
        },
    }


def _response_body(response: Mapping[str, Any]) -> str:
    bodies = response.get("response", {}).get("responseBody", {})
    for content in bodies.values():
        body = content.get("body")
        return body if isinstance(body, str) else json.dumps(body, default=str)
    return ""


class PersistedAction:
    """A Lambda handler that runs a ``BedrockAgentResolver`` inside the persisted-action flow.

    Settings are validated at construction (cold start). Pass ``runtime`` to use fakes in tests.
    """

    def __init__(
        self,
        app: BedrockAgentResolver,
        *,
        agent_name: str,
        runtime: Runtime | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        settings = runtime.settings if runtime else Settings.from_env()
        self.agent_name = agent_name
        self.phase = Phase.for_agent(agent_name)
        self.runtime = runtime or Runtime.from_settings(settings)
        self.observability = Observability.for_agent(agent_name, level=settings.log_level)
        self.clock = clock
        # The operations the resolver routes, read once: the app is complete by now.
        routes = app._static_routes
        self._known_paths = frozenset(route.path for route in routes)
        self._known_operations = sorted({f"{route.method} {route.path}" for route in routes})
        self._register_error_handlers()
        self._handler = self.observability.instrument(self._handle)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry point."""
        result: dict[str, Any] = self._handler(event, context)
        return result

    # -- the flow ---------------------------------------------------------------------------------

    def _handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not isinstance(event, dict):
            event = {"unparsed_event": repr(event)}
        raw_event = json.dumps(event, ensure_ascii=False, default=repr)
        job_name = event_job_name(event)
        filed_under = job_name if job_name and is_job_name(job_name) else unattributed_job_name(self.clock())
        action_name = event.get("apiPath") if isinstance(event.get("apiPath"), str) else "unknown"
        session_id = event.get("sessionId") if isinstance(event.get("sessionId"), str) else None
        self.observability.bind(
            job_name=filed_under, agent_name=self.agent_name, action_name=action_name, session_id=session_id
        )
        log = self.runtime.log
        handle = log.start(
            job_name=filed_under,
            agent_name=self.agent_name,
            action_name=str(action_name),
            session_id=session_id,
            prompt=raw_event,
            attributes={"phase": str(self.phase)},
        )
        action = ActionContext(
            job_name=filed_under,
            agent_name=self.agent_name,
            action_name=str(action_name),
            session_id=session_id,
            phase=self.phase,
            artifacts=self.runtime.artifacts,
        )
        token = _current.set(action)
        try:
            response = self._resolve(event, context, action)
        finally:
            _current.reset(token)
        self._finish(handle, action, response, attributed=filed_under == job_name)
        return response

    def _resolve(self, event: dict[str, Any], context: Any, action: ActionContext) -> dict[str, Any]:
        problem = envelope_problem(event)
        if problem is not None:
            message = f"not a Bedrock action-group event: {problem}"
            action.error_type, action.error_message = "MalformedEvent", message
            self.observability.logger.warning("malformed event", extra={"problem": problem})
            return error_envelope(event, HTTPStatus.BAD_REQUEST, "MalformedEvent", message)
        try:
            return self.app.resolve(event, context)
        except Exception as exc:  # noqa: BLE001 - a malformed event must still get a Bedrock response
            action.error = exc
            self.observability.logger.warning("event could not be routed", extra={"error": repr(exc)})
            return error_envelope(
                event, HTTPStatus.BAD_REQUEST, "MalformedEvent", f"not a Bedrock action-group event: {exc!r}"
            )

    def _finish(
        self, handle: RecordHandle, action: ActionContext, response: dict[str, Any], *, attributed: bool
    ) -> None:
        status = int(response.get("response", {}).get("httpStatusCode", 500))
        body = _response_body(response)
        uris = [stored.uri for stored in action.stored]
        log = self.runtime.log
        # The artifacts' digests make each record vouch for what it stored (see autoninja.seal).
        stored = {"artifacts_sha256": [stored.sha256 for stored in action.stored]}
        if 200 <= status < 300 and attributed and action.error is None:
            log.finish(handle, response=body, artifacts=uris, attributes=stored)
            outcome = Status.SUCCESS
        else:
            error = action.error
            error_type = action.error_type or (
                type(error).__name__ if error else _status_error_type(status, attributed)
            )
            message = action.error_message or (str(error) if error else body)
            log.fail(
                handle,
                error_type=error_type,
                error_message=message,
                response=body,
                artifacts=uris,
                attributes=stored,
            )
            outcome = Status.ERROR
        self.observability.logger.info(
            "action finished",
            extra={
                "status": str(outcome),
                "http_status": status,
                "duration_seconds": str(handle.item.get("duration_seconds") or ""),
                "artifacts": len(uris),
            },
        )
        # An operation that does not exist is "unknown" in metrics: a dimension must stay bounded.
        known = action.action_name in self._known_paths
        self.observability.record_action(
            action_name=action.action_name if known else "unknown",
            status=str(outcome),
            duration_seconds=Decimal(handle.item.get("duration_seconds") or 0),
        )

    # -- errors become Bedrock responses ----------------------------------------------------------

    def _register_error_handlers(self) -> None:
        from aws_lambda_powertools.event_handler import Response, content_types
        from aws_lambda_powertools.event_handler.exceptions import NotFoundError
        from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

        def respond(status: int, error_type: str, message: str, **extra: Any) -> Response[Any]:
            # The record gets the full message; the agent the same one, bounded (see _for_the_agent).
            with contextlib.suppress(RuntimeError):  # outside an invocation there is nothing to tell
                current_action().error_message = message
            return Response(
                status_code=status,
                content_type=content_types.APPLICATION_JSON,
                body={"error": error_type, "message": _for_the_agent(message), **extra},
            )

        def remember(exc: BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # outside an invocation there is nothing to tell
                current_action().error = exc

        def invalid_request(exc: RequestValidationError) -> Response[Any]:
            remember(exc)
            problems = [
                {
                    "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                    "problem": err.get("msg", err["type"]),
                }
                for err in exc.errors()
            ]
            summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
            shown = [{k: _for_the_agent(v, 200) for k, v in p.items()} for p in problems[:MAX_PROBLEMS_SHOWN]]
            return respond(
                HTTPStatus.BAD_REQUEST, "InvalidRequest", f"invalid request: {summary}", problems=shown
            )

        def unknown_operation(exc: NotFoundError) -> Response[Any]:
            remember(exc)
            event = self.app.current_event
            return respond(
                HTTPStatus.NOT_FOUND,
                "UnknownOperation",
                f"{event.http_method} {event.api_path} is not an operation of {self.agent_name}; "
                f"known: {', '.join(self._known_operations)}",
            )

        def known_error(exc: AutoNinjaError) -> Response[Any]:
            remember(exc)
            return respond(exc.status_code, type(exc).__name__, str(exc))

        def unexpected(exc: Exception) -> Response[Any]:
            remember(exc)
            self.observability.logger.exception("operation failed")
            return respond(HTTPStatus.INTERNAL_SERVER_ERROR, type(exc).__name__, str(exc))

        register = self.app.exception_handler
        register(RequestValidationError)(invalid_request)
        register(NotFoundError)(unknown_operation)
        register(AutoNinjaError)(known_error)
        register(Exception)(unexpected)


#: An error message sent back to the agent is cut to this many characters (Bedrock caps an action
#: group's response at 25 KB; the record keeps the full message and the raw event).
MAX_MESSAGE_TO_AGENT = 2_000
MAX_PROBLEMS_SHOWN = 20


def _for_the_agent(text: str, limit: int = MAX_MESSAGE_TO_AGENT) -> str:
    """``text``, cut to ``limit`` characters with a note saying so (the record has all of it)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters on record)"


def _status_error_type(status: int, attributed: bool) -> str:
    if not attributed:
        return "MissingJobName"
    return "HttpError" if status < 500 else "ServerError"
