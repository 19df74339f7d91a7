"""A fault-injecting HTTP proxy on loopback, in front of the emulator, for tests.

It forwards each request to the upstream endpoint unless its policy says otherwise. Faults:

- ``reset``:   close the client connection without forwarding (connection reset);
- ``drop``:    forward the request, then close the connection without answering (the ambiguous
  case: the server applied the write, the client saw no answer);
- ``throttle``: answer DynamoDB's ``ProvisionedThroughputExceededException`` (HTTP 400);
- ``500`` / ``503``: answer an HTTP 500 or 503 without forwarding;
- ``delay``:   wait ``delay_seconds`` and then forward.

It runs in a thread of the test process and stops itself when the ``with`` block ends.

Example::

    with FaultProxy(upstream="http://127.0.0.1:4566", policy=lambda request: "drop") as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.endpoint)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("reset", "drop", "throttle", "500", "503", "delay")


@dataclass(frozen=True)
class Request:
    """What a policy sees of a request."""

    method: str
    path: str
    target: str  # X-Amz-Target (DynamoDB operation), or "" for S3
    body: bytes


Policy = Callable[[Request], str]


def forward_all(_: Request) -> str:
    """The default policy: no faults."""
    return "forward"


class FaultProxy:
    """A loopback HTTP proxy that injects faults chosen per request by ``policy``."""

    def __init__(self, upstream: str, policy: Policy = forward_all, delay_seconds: float = 0.2) -> None:
        self.upstream = urlsplit(upstream)
        self.policy = policy
        self.delay_seconds = delay_seconds
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The proxy's URL, to use as the SDK's endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1

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
                proxy._count(fault)
                if fault == "reset":
                    self._abort()
                    return
                if fault in ("throttle", "500", "503"):
                    self._answer_fault(fault)
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
                self.wfile.write(payload)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                upstream = proxy.upstream
                conn = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, response.getheaders(), response.read()
                finally:
                    conn.close()

            def _answer_fault(self, fault: str) -> None:
                if fault == "throttle":
                    status = 400
                    payload = (
                        b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
                        b'"message":"injected throttle"}'
                    )
                else:
                    status = int(fault)
                    payload = b'{"__type":"InternalServerError","message":"injected"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _abort(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have gone already
                    self.connection.shutdown(socket.SHUT_RDWR)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
