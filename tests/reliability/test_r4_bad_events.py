"""R4 bad events: whatever Bedrock (or anything else) sends, every function answers and keeps a record.

Given Hypothesis-generated events for each of the five functions, each one a committed valid event (or
no event at all) broken in at least one way that makes it invalid, often several:

- breaking: a required property removed; ``job_name`` replaced by a string that is not a job name
  (huge, unicode, traversal, random); an unknown ``apiPath``; a method other than POST; an empty or
  absent body, or properties that are not a list of ``{name, value}``; ``apiPath`` or ``httpMethod``
  of the wrong type; an event that is not an object at all;
- on top of that, noise: extra top-level fields and properties, properties replaced by invalid JSON,
  huge (up to 1 MB, offloaded) or unicode strings or deeply nested JSON, wrong property types,
  wrong-typed or deeply nested session fields;

when each is handed to the function's handler (in-process, on the in-memory fakes and moto
in-process, with every socket connection refused), then

- the handler never raises;
- it returns a well-formed Bedrock envelope (JSON-serialisable, message version 1.0, the event's action
  group, path and method echoed where they are strings, a JSON body naming the error) with a 4xx
  (the issue allows 4xx/5xx; every input here is the caller's mistake, so a 5xx would be a crash);
- the invocation left exactly one record, finished as ``error`` (never ``in_progress``), with the raw
  event as its prompt (rehydrated from S3 when large) and the same body the agent got.

Sizes: 2,000 examples per function at full scale (10,000 in total), 100 per function (500) reduced.
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from autoninja.action import Runtime
from autoninja.jobs import is_job_name
from autoninja.models import Status
from autoninja.settings import Settings
from tests.reliability.conftest import report_figure, sized
from tests.support.functions import (
    AGENTS,
    FUNCTION_ENV,
    FUNCTIONS_DIR,
    event_names,
    lambda_context,
    load_event,
    load_function,
)

TOP_LEVEL = (
    "messageVersion",
    "agent",
    "inputText",
    "sessionId",
    "actionGroup",
    "apiPath",
    "httpMethod",
    "parameters",
    "requestBody",
    "sessionAttributes",
    "promptSessionAttributes",
)


def operations(agent: str) -> dict[str, list[str]]:
    """``{apiPath: required body properties}`` of a function, from its committed OpenAPI schema."""
    schema = json.loads((FUNCTIONS_DIR / agent / "openapi.json").read_text(encoding="utf-8"))
    required = {}
    for path, methods in schema["paths"].items():
        ref = methods["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        required[path] = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("required", [])
    return required


# -- strategies ------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
huge_strings = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["x", "é", "👋", "\u202e", "\x00", "Ω", "\n"]),
    st.integers(min_value=20_000, max_value=1_000_000),
)
weird_strings = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=50),
    st.sampled_from(["", " ", "../../etc/passwd", "/etc/passwd", "null", "{", "[1,", "\ud7ff", "ｊｏｂ"]),
    huge_strings,
)


@st.composite
def nested_json(draw: st.DrawFn) -> str:
    """JSON text nested 10 to 5,000 levels deep (objects or arrays)."""
    depth = draw(st.integers(min_value=10, max_value=5_000))
    opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opening * depth + "1" + closing * depth


invalid_json = st.one_of(
    st.sampled_from(["{", "[1, 2", '{"a": }', "{'single': 'quotes'}", "NaN", "undefined", '{"a": 1}}']),
    st.text(max_size=60).filter(lambda text: not _parses(text)),
)
not_job_names = st.one_of(
    weird_strings,
    st.sampled_from(
        [
            "job-friend-20261203-120000/../../x",
            "job-friend-20261332-120000",
            "JOB-FRIEND-20261203-120000",
            "job-friend-20261203-120000\n",
            "job-fr\u0456end-20261203-120000",  # Cyrillic i
            "job--20261203-120000",
            "s3://other-bucket/job-friend-20261203-120000",
        ]
    ),
).filter(lambda name: not is_job_name(name))


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _properties(event: dict[str, Any]) -> list[dict[str, Any]]:
    props: list[dict[str, Any]] = event["requestBody"]["content"]["application/json"]["properties"]
    return props


def _set_property(event: dict[str, Any], name: str, value: Any) -> None:
    props = [p for p in _properties(event) if p.get("name") != name]
    props.append({"name": name, "type": "string", "value": value})
    event["requestBody"]["content"]["application/json"]["properties"] = props


@st.composite
def breakage(draw: st.DrawFn, event: dict[str, Any], required: dict[str, list[str]]) -> tuple[str, Any]:
    """One change that makes ``event`` invalid for the function: ``(kind, new event)``."""
    kind = draw(
        st.sampled_from(
            [
                "drop-required",
                "bad-job-name",
                "unknown-path",
                "wrong-method",
                "empty-body",
                "bad-properties",
                "wrong-type-route",
                "not-an-event",
            ]
        )
    )
    if kind == "drop-required":
        name = draw(st.sampled_from(required[event["apiPath"]]))
        props = [p for p in _properties(event) if p.get("name") != name]
        event["requestBody"]["content"]["application/json"]["properties"] = props
    elif kind == "bad-job-name":
        _set_property(event, "job_name", draw(not_job_names))
    elif kind == "unknown-path":
        event["apiPath"] = draw(
            st.one_of(
                st.text(max_size=30), st.builds(lambda p: "/" + p, st.text(max_size=30)), huge_strings
            ).filter(lambda path: path not in required)
        )
    elif kind == "wrong-method":
        event["httpMethod"] = draw(
            st.one_of(
                st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]), st.text(max_size=10)
            ).filter(lambda method: method.upper() != "POST")
        )
    elif kind == "empty-body":
        event["requestBody"] = draw(
            st.sampled_from(
                [
                    None,
                    {},
                    "",
                    {"content": {}},
                    {"content": {"application/json": {}}},
                    {"content": {"application/json": {"properties": []}}},
                    {"content": {"text/plain": {"body": "job_name=job-friend-20261203-120000"}}},
                ]
            )
        )
    elif kind == "bad-properties":
        event["requestBody"]["content"]["application/json"]["properties"] = draw(
            st.one_of(
                st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
                st.text(max_size=40),
                st.integers(),
                st.lists(st.one_of(json_scalars, st.lists(json_scalars, max_size=3)), max_size=5),
                # job_name present, but not as {name, value} strings
                st.just([{"name": "job_name", "value": ["job-friend-20261203-120000"]}]),
                st.just([{"job_name": "job-friend-20261203-120000"}]),
            )
        )
    elif kind == "wrong-type-route":
        field = draw(st.sampled_from(["apiPath", "httpMethod"]))
        event[field] = draw(
            st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2), st.just({}))
        )
    else:
        return kind, draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=100), st.lists(json_values, max_size=3))
        )
    return kind, event


@st.composite
def noise(draw: st.DrawFn, event: dict[str, Any]) -> str:
    """One change that may or may not be valid on its own, applied in place; its name."""
    kind = draw(
        st.sampled_from(
            [
                "extra-field",
                "extra-property",
                "invalid-json",
                "huge-value",
                "unicode-value",
                "nested-json",
                "property-type",
                "session-type",
                "nested-attributes",
            ]
        )
    )
    body = event.get("requestBody")
    has_props = (
        isinstance(body, dict)
        and isinstance(body.get("content"), dict)
        and isinstance(body["content"].get("application/json"), dict)
        and isinstance(body["content"]["application/json"].get("properties"), list)
    )
    names = [p.get("name") for p in _properties(event) if isinstance(p, dict)] if has_props else []
    target = draw(st.sampled_from(names)) if names else draw(st.text(max_size=10))
    if kind == "extra-field":
        event[draw(st.text(max_size=20).filter(lambda key: key not in TOP_LEVEL))] = draw(json_values)
    elif kind == "session-type":
        event[
            draw(st.sampled_from(["sessionId", "inputText", "agent", "sessionAttributes", "messageVersion"]))
        ] = draw(json_values)
    elif kind == "nested-attributes":
        depth = draw(st.integers(min_value=10, max_value=500))
        nested: Any = "leaf"
        for _ in range(depth):
            nested = {"a": nested}
        event[draw(st.sampled_from(["sessionAttributes", "promptSessionAttributes", "agent"]))] = nested
    elif not has_props:
        return "none"
    elif kind == "extra-property":
        _set_property(event, draw(st.text(max_size=30).filter(lambda n: n not in names)), draw(weird_strings))
    elif kind == "invalid-json":
        _set_property(event, target, draw(invalid_json))
    elif kind == "huge-value":
        _set_property(event, target, draw(huge_strings))
    elif kind == "unicode-value":
        _set_property(event, target, draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=300)))
    elif kind == "nested-json":
        _set_property(event, target, draw(nested_json()))
    else:  # property-type: a value or a "type" Bedrock never sends
        for prop in _properties(event):
            if prop.get("name") == target:
                prop["value" if draw(st.booleans()) else "type"] = draw(json_values)
    return kind


@st.composite
def bad_events(draw: st.DrawFn, agent: str, required: dict[str, list[str]]) -> tuple[Any, list[str]]:
    """A committed valid event of ``agent``, broken once and then given 0-3 pieces of noise."""
    event = load_event(agent, draw(st.sampled_from([n for n in event_names(agent) if "/" not in n])))
    kinds = [f"noise:{draw(noise(event))}" for _ in range(draw(st.integers(min_value=0, max_value=3)))]
    kind, broken = draw(breakage(event, required))
    return broken, [kind, *kinds]


# -- the harness -----------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """No network: every socket connection is refused (and remembered); AWS is moto in-process."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(f"R4 runs offline; connection to {address!r} refused")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        **FUNCTION_ENV,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        yield attempts


def check_envelope(response: Any, event: Any) -> tuple[int, dict[str, Any], int]:
    """Assert ``response`` is a well-formed Bedrock envelope for ``event``; its status, body and the
    body's size in bytes."""
    assert isinstance(response, dict) and response.get("messageVersion") == "1.0", response
    json.dumps(response)  # Lambda must be able to send it
    inner = response["response"]
    for name in ("actionGroup", "apiPath", "httpMethod"):
        assert isinstance(inner[name], str), (name, inner[name])
        if isinstance(event, dict) and isinstance(event.get(name), str):
            assert inner[name] == event[name], f"{name} not echoed"
    status = inner["httpStatusCode"]
    assert isinstance(status, int)
    text = inner["responseBody"]["application/json"]["body"]
    body = json.loads(text)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body.get("message"), body
    return status, body, len(text.encode("utf-8"))


@pytest.mark.parametrize("agent", AGENTS)
def test_bad_events_never_raise_always_answer_4xx_5xx_and_leave_one_record(
    agent: str, offline: list[Any]
) -> None:
    per_function = sized(10_000, 500)
    required = operations(agent)
    module = load_function(agent)
    app_settings = Settings.from_env()
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    error_types: Counter[str] = Counter()
    largest = {"event": 0, "body": 0}
    started = time.monotonic()

    @settings(
        max_examples=per_function,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(bad_events(agent, required))
    def check(case: tuple[Any, list[str]]) -> None:
        event, changes = case
        runtime = Runtime.in_memory(app_settings)
        module.lambda_handler.runtime = runtime
        logged = event if isinstance(event, dict) else {"unparsed_event": repr(event)}
        raw_event = None if _too_deep(logged) else json.dumps(logged, ensure_ascii=False, default=repr)

        # When the function gets the event, it answers (never raises) with a well-formed 4xx/5xx
        response = module.lambda_handler(event, lambda_context(agent))
        status, body, size = check_envelope(response, event)
        # (every one of these is the caller's mistake: a 5xx would mean the function crashed on it)
        assert 400 <= status <= 499, (status, body, changes)

        # Then exactly one record was left: finished as an error, with the raw event and the answer
        items = list(runtime.log.table.items.values())
        assert len(items) == 1, f"{len(items)} records for one invocation {changes}"
        (record,) = runtime.log.job(items[0]["job_name"])
        assert record.status == Status.ERROR and record.error_type, record
        assert record.agent_name == agent
        assert json.loads(record.response or "") == body
        if raw_event is not None:
            assert record.prompt == raw_event

        statuses[int(status)] += 1
        kinds.update(changes[:1])
        kinds.update(change for change in changes[1:] if change != "noise:none")
        error_types[body["error"]] += 1
        largest["event"] = max(largest["event"], len(raw_event or ""))
        largest["body"] = max(largest["body"], size)

    check()
    seconds = time.monotonic() - started
    tried = sum(statuses.values())
    report_figure(
        f"R4 bad events ({agent}): {tried} generated events tried, raised 0, malformed envelopes 0, "
        f"records per invocation 1 (all error); statuses {dict(sorted(statuses.items()))}; errors "
        f"{dict(error_types.most_common())}; changes {dict(sorted(kinds.items()))}; largest event "
        f"{largest['event']:,} chars, largest answer body {largest['body']:,} bytes; network connections "
        f"attempted {len(offline)}; {seconds:.0f}s"
    )
    assert tried >= per_function
    assert offline == []


def _too_deep(value: Any, limit: int = 500) -> bool:
    """True when ``value`` nests deeper than ``limit`` (json.dumps would hit the recursion limit)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
