"""Shared pieces of the benchmarks: stack outputs, clients, timing and the report line.

Every figure is a ratio against a baseline measured in the same run, against the same emulator,
interleaved in rounds so that drift affects both sides alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from autoninja.jobs import format_job_name


def tf_outputs() -> dict[str, Any]:
    """The local stack's Terraform outputs (the Makefile sets AUTONINJA_TF_DIR and TF_DATA_DIR)."""
    result = subprocess.run(
        ["terraform", f"-chdir={os.environ['AUTONINJA_TF_DIR']}", "output", "-json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return {name: value["value"] for name, value in json.loads(result.stdout).items()}


def unique_job(prefix: str) -> str:
    """A fresh job name for one benchmark run."""
    return format_job_name(f"{prefix}{uuid.uuid4().hex[:8]}", datetime.now(UTC))


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    name: str,
    what: str,
    library: Callable[[], Any],
    baseline: Callable[[], Any],
    *,
    rounds: int,
    target: float,
) -> float:
    """Run library and baseline alternately for ``rounds`` rounds; print and return the median ratio."""
    lib_times: list[float] = []
    base_times: list[float] = []
    for index in range(rounds):
        if index % 2 == 0:
            base_times.append(timed(baseline))
            lib_times.append(timed(library))
        else:
            lib_times.append(timed(library))
            base_times.append(timed(baseline))
    lib, base = statistics.median(lib_times), statistics.median(base_times)
    ratio = lib / base
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"{name}: {what}: library {lib:.3f}s, baseline {base:.3f}s (median of {rounds}), "
        f"ratio {ratio:.2f}x (target <= {target:.2f}x) {verdict}",
        flush=True,
    )
    return ratio
