"""A fault-injecting HTTP proxy on loopback, in front of the emulator, for tests.

It forwards each request to the upstream endpoint unless its policy says otherwise. Faults:

- ``reset``:   abort the client connection with a TCP reset, without forwarding;
- ``drop``:    forward the request, then close the connection without answering (the ambiguous
  case: the server applied the write, the client saw no answer);
- ``throttle``: answer the service's throttling error without forwarding: DynamoDB's
  ``ProvisionedThroughputExceededException`` (HTTP 400), or S3's ``SlowDown`` (HTTP 503);
- ``500`` / ``503``: answer an HTTP 500 or 503 without forwarding (in the service's error format);
- ``delay``:   wait ``delay_seconds`` and then forward.

A request is DynamoDB's when it carries an ``X-Amz-Target`` header, S3's otherwise
(:attr:`Request.service`); ``counts`` tallies outcomes, ``service_counts`` tallies them per service.
The policy is read for every request, so a test may swap it mid-run (an outage window).

It only ever listens on 127.0.0.1 and forwards to a loopback upstream. It runs in a thread of the
test process and stops itself when the ``with`` block ends.

Example::

    with FaultProxy(upstream="http://127.0.0.1:4566", policy=lambda request: "drop") as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.endpoint)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("reset", "drop", "throttle", "500", "503", "delay")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_DYNAMODB_ERRORS = {
    "throttle": (
        400,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
        b'"message":"injected throttle"}',
    ),
    "500": (500, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}'),
    "503": (503, b'{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"injected"}'),
}
_S3_ERRORS = {
    "throttle": (503, "SlowDown", "Please reduce your request rate (injected)"),
    "500": (500, "InternalError", "We encountered an internal error (injected)"),
    "503": (503, "ServiceUnavailable", "Service unavailable (injected)"),
}


@dataclass(frozen=True)
class Request:
    """What a policy sees of a request."""

    method: str
    path: str
    target: str  # X-Amz-Target (DynamoDB operation), or "" for S3
    body: bytes

    @property
    def service(self) -> str:
        """``"dynamodb"`` for a request with an ``X-Amz-Target``, else ``"s3"``."""
        return "dynamodb" if self.target else "s3"


Policy = Callable[[Request], str]


def forward_all(_: Request) -> str:
    """The default policy: no faults."""
    return "forward"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many pooled SDK connections may open at once


class FaultProxy:
    """A loopback HTTP proxy that injects faults chosen per request by ``policy``."""

    def __init__(self, upstream: str, policy: Policy = forward_all, delay_seconds: float = 0.2) -> None:
        self.upstream = urlsplit(upstream)
        if self.upstream.hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"FaultProxy only forwards to loopback, not {upstream!r}")
        self.policy = policy
        self.delay_seconds = delay_seconds
        self.counts: Counter[str] = Counter()
        self.service_counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The proxy's URL, to use as the SDK's endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def faults(self, service: str | None = None) -> dict[str, int]:
        """Faults injected so far by kind (``forward`` excluded), for one service or all."""
        with self._lock:
            if service is None:
                return {k: v for k, v in self.counts.items() if k != "forward"}
            return {f: n for (s, f), n in self.service_counts.items() if s == service and f != "forward"}

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _count(self, service: str, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1
            self.service_counts[(service, outcome)] += 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, self.headers.get("X-Amz-Target", ""), body)
                fault = proxy.policy(request)
                proxy._count(request.service, fault)
                if fault == "reset":
                    self._reset()
                    return
                if fault in ("throttle", "500", "503"):
                    self._answer_fault(fault, request.service)
                    return
                if fault == "delay":
                    time.sleep(proxy.delay_seconds)
                status, headers, payload = self._forward(body)
                if fault == "drop":
                    self._abort()
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                upstream = proxy.upstream
                conn = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")
                    }
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, response.getheaders(), response.read()
                finally:
                    conn.close()

            def _answer_fault(self, fault: str, service: str) -> None:
                if service == "dynamodb":
                    status, payload = _DYNAMODB_ERRORS[fault]
                    content_type = "application/x-amz-json-1.0"
                else:
                    status, code, message = _S3_ERRORS[fault]
                    payload = (
                        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                        f"<Message>{message}</Message><RequestId>injected</RequestId></Error>"
                    ).encode()
                    content_type = "application/xml"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _abort(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have gone already
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _reset(self) -> None:
                # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a FIN.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
