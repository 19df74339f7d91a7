"""Run one packaged Lambda handler the way the Lambda Python runtime does; stdlib only.

This file is executed by path in a fresh, isolated interpreter (``python -I -S lambda_bootstrap.py``)
by :mod:`autoninja_cli.invoke`; it must never import anything outside the standard library before the
import path is set. It reads one JSON request from stdin::

    {"task": "<dir>", "opt": "<dir>", "runtime": "<dir>", "handler": "app.lambda_handler",
     "event": {...}, "context": {...}, "mode": "invoke" | "probe", "modules": ["autoninja", ...]}

plus ``"result": "<file>"``, and lays the import path out like Lambda's: the function code
(``/var/task``), the layer's ``python/`` (``/opt/python``), the interpreter's standard library, then
the runtime's bundled SDK.
Nothing else: no site-packages, no current directory, no ``PYTHONPATH``.

- ``invoke``: imports the handler module, calls the handler with the event and a Lambda context, and
  writes ``{"response": ...}`` (or ``{"error": {...}}`` like Lambda's error payload) to the result file.
- ``probe``: imports the handler module, then reports where each module in ``modules`` was imported
  from, the import path and the import time in seconds.
- ``serve``: a warm sandbox. Imports the handler once (Lambda's init phase), then serves one
  invocation per further stdin line, ``{"event": ..., "context": ..., "result": "<file>"}``, writing
  each result file and then ``done`` on the file descriptor ``notify_fd``, until stdin closes.

Logs (Powertools writes JSON lines to stdout) stay on stdout/stderr; the result goes to the result file only.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The Lambda context object the handler receives (the attributes Lambda's runtime sets)."""

    def __init__(self, fields: dict[str, Any], deadline: float) -> None:
        self.function_name = fields["function_name"]
        self.function_version = fields.get("function_version", "$LATEST")
        self.invoked_function_arn = fields["invoked_function_arn"]
        self.memory_limit_in_mb = int(fields["memory_limit_in_mb"])
        self.aws_request_id = fields["aws_request_id"]
        self.log_group_name = fields.get("log_group_name", "")
        self.log_stream_name = fields.get("log_stream_name", "")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def _set_import_path(request: dict[str, Any]) -> None:
    stdlib = [entry for entry in sys.path if entry]  # -I -S: only the standard library is left
    sys.path[:] = [request["task"], request["opt"], *stdlib, request["runtime"]]


def _import_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} is not <module>.<function>")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def _error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def _write(path: str, result: dict[str, Any]) -> None:
    try:
        text = json.dumps(result)
    except (TypeError, ValueError) as exc:  # what Lambda reports for a response it cannot serialise
        text = json.dumps({"error": _error_payload(exc, "Runtime.MarshalError")})
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def main() -> int:
    """Run the request read from stdin; exit 0 when the handler returned, 1 when it raised."""
    request = json.loads(sys.stdin.readline())  # one line: in serve mode, invocations follow
    _set_import_path(request)
    started = time.perf_counter()
    try:
        handler = _import_handler(request["handler"])
    except Exception as exc:  # noqa: BLE001 - reported like Lambda's Runtime.ImportModuleError
        error = {"error": _error_payload(exc, "Runtime.ImportModuleError")}
        if request.get("mode") == "serve":  # no invocation yet: the sandbox's log gets it
            print(json.dumps(error), flush=True)
        else:
            _write(request["result"], error)
        return 1
    import_seconds = time.perf_counter() - started
    if request.get("mode") == "probe":
        modules = {}
        for name in request.get("modules", []):
            module = sys.modules.get(name)
            modules[name] = getattr(module, "__file__", None) if module else None
        _write(
            request["result"], {"modules": modules, "sys_path": sys.path, "import_seconds": import_seconds}
        )
        return 0
    if request.get("mode") == "serve":
        with open(int(request["notify_fd"]), "w", encoding="utf-8") as notify:
            for line in sys.stdin:
                if line.strip():
                    _invoke(handler, json.loads(line))
                    notify.write("done\n")
                    notify.flush()
        return 0
    return _invoke(handler, request)


def _invoke(handler: Any, invocation: dict[str, Any]) -> int:
    """Call the handler on ``invocation``'s event and context; write its result file."""
    fields = invocation["context"]
    context = LambdaContext(fields, time.monotonic() + float(fields["timeout_seconds"]))
    try:
        response = handler(invocation["event"], context)
    except Exception as exc:  # noqa: BLE001 - reported like Lambda's unhandled-error payload
        _write(invocation["result"], {"error": _error_payload(exc)})
        return 1
    _write(invocation["result"], {"response": response})
    return 0


if __name__ == "__main__":
    sys.exit(main())
