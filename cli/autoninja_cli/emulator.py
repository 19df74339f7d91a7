"""Start, probe and stop the embedded AWS emulator (moto server) for the local stack.

The emulator listens on 127.0.0.1:<port> (LocalStack's 4566 by default). If anything already answers
on that port (LocalStack, or an emulator from an earlier ``make up``), it is reused and nothing is
started. Only an emulator that this module started, recorded in its pid file, is ever stopped.

Usage (the Makefile is the normal entry point)::

    python -m autoninja_cli.emulator start --port 4566 --state-dir .local/4566
    python -m autoninja_cli.emulator stop --state-dir .local/4566
    python -m autoninja_cli.emulator ping --port 4566

IAM enforcement (the least-privilege tests): ``start --iam-enforcement`` runs moto server with
:mod:`autoninja_cli.iam_enforcement` installed, still answering every request without
authentication, so Terraform can apply; ``enforce-iam`` then switches IAM checks on for every later
request (moto's ``/moto-api/reset-auth``). From then on only credentials of the emulator's IAM users
and assumed roles are accepted, each judged by its own policies.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORT = 4566
START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.05


def endpoint_for(port: int) -> str:
    """Return the loopback endpoint URL for ``port``, e.g. ``http://127.0.0.1:4566``."""
    return f"http://127.0.0.1:{port}"


def answers(port: int, timeout: float = 0.5) -> bool:
    """Tell whether an HTTP server answers on 127.0.0.1:``port`` (any status code counts)."""
    try:
        with urllib.request.urlopen(endpoint_for(port) + "/", timeout=timeout):  # noqa: S310 - loopback only
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def wait_until(predicate: object, deadline_seconds: float) -> bool:
    """Poll ``predicate`` until it is true or the deadline passes; no fixed sleep."""
    assert callable(predicate)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL_INTERVAL_SECONDS)
    return bool(predicate())


def _pid_file(state_dir: Path) -> Path:
    return state_dir / "emulator.pid"


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int(_pid_file(state_dir).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_our_emulator(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return _process_alive(pid)  # no /proc (macOS): trust the pid file
    return b"moto" in cmdline or b"autoninja_cli.iam_enforcement" in cmdline


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(
    port: int, state_dir: Path, extra_env: dict[str, str] | None = None, *, iam_enforcement: bool = False
) -> str:
    """Start the emulator unless something already answers; return "reused" or "started".

    ``iam_enforcement``: run it with :mod:`autoninja_cli.iam_enforcement` installed (checks stay off
    until :func:`enforce_iam`).
    """
    if answers(port):
        return "reused"
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "emulator.log").open("ab")
    if iam_enforcement:
        server = [sys.executable, "-m", "autoninja_cli.iam_enforcement"]
    else:
        server = [sys.executable, "-m", "autoninja_cli.moto_server"]  # moto server, minus its listing leak
    env = {**os.environ, **(extra_env or {})}
    if iam_enforcement:
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)  # unauthenticated until enforce_iam()
    process = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv's moto server
        [*server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    _pid_file(state_dir).write_text(f"{process.pid}\n")
    if not wait_until(lambda: answers(port) or process.poll() is not None, START_DEADLINE_SECONDS):
        process.kill()
        raise SystemExit(f"emulator did not answer on port {port} within {START_DEADLINE_SECONDS:.0f}s")
    if process.poll() is not None:
        _pid_file(state_dir).unlink(missing_ok=True)
        raise SystemExit(f"emulator exited with {process.returncode}; see {state_dir / 'emulator.log'}")
    return "started"


def enforce_iam(port: int) -> None:
    """Check IAM on every later request to the emulator on ``port`` (moto's ``reset-auth``, budget 0)."""
    url = endpoint_for(port) + "/moto-api/reset-auth"
    # Not form-encoded: moto reads the raw body, which Flask leaves empty for a form.
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        if response.status != 200:
            raise SystemExit(f"the emulator on port {port} refused to enforce IAM ({response.status})")


def stop(state_dir: Path) -> str:
    """Stop the emulator recorded in ``state_dir``'s pid file; never touch anything else."""
    pid = _read_pid(state_dir)
    if pid is None:
        return "not started by us"
    try:
        if _process_alive(pid) and _is_our_emulator(pid):
            os.killpg(pid, signal.SIGTERM)
            if not wait_until(lambda: not _process_alive(pid) or _is_zombie(pid), STOP_DEADLINE_SECONDS):
                os.killpg(pid, signal.SIGKILL)
        return "stopped"
    finally:
        _pid_file(state_dir).unlink(missing_ok=True)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point used by the Makefile."""
    parser = argparse.ArgumentParser(prog="python -m autoninja_cli.emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "ping", "started-by-us", "enforce-iam"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
        cmd.add_argument("--state-dir", type=Path, default=Path(".local") / str(DEFAULT_PORT))
        if name == "start":
            cmd.add_argument("--iam-enforcement", action="store_true", help="install IAM enforcement")
    args = parser.parse_args(argv)
    if args.command == "start":
        outcome = start(args.port, args.state_dir, iam_enforcement=args.iam_enforcement)
        print(f"emulator on {endpoint_for(args.port)}: {outcome}")
    elif args.command == "stop":
        print(f"emulator: {stop(args.state_dir)}")
    elif args.command == "enforce-iam":
        enforce_iam(args.port)
        print(f"emulator on {endpoint_for(args.port)}: IAM enforced")
    elif args.command == "ping":
        return 0 if answers(args.port) else 1
    elif args.command == "started-by-us":
        pid = _read_pid(args.state_dir)
        return 0 if pid is not None and _process_alive(pid) and _is_our_emulator(pid) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
