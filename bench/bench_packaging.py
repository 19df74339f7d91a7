"""P3 and P4: what the packaging costs a cold start, and the layer's size.

- P3: cold import of each packaged handler, run the way ``autoninja invoke`` runs it (the deployed
  zips unpacked like Lambda's /var/task and /opt, a fresh ``python -I -S -B`` whose import path holds
  only those, the standard library and the runtime's SDK), against ``import boto3`` alone in the same
  kind of fresh interpreter. Each side is timed inside the interpreter around the import (interpreter
  start-up is the same for both and is left out), median of 10, interleaved. The zips carry no
  bytecode (reproducible builds), so every cold start compiles the layer's sources, as Lambda would:
  a second line shows the same figure with hash-based ``.pyc`` files compiled into the unpacked
  layer, the change proposed to make the zip both reproducible and faster to import.
- P4: the layer zip's size (build/<runtime>/layer.zip of the deployed runtime), target <= 10 MB.

Run with ``make bench`` (it starts the local stack if needed).
"""

from __future__ import annotations

import compileall
import os
import py_compile
import statistics

from autoninja_cli.invoke import PackagedFunction, build_dir, unpacked
from autoninja_cli.packaging import layer_size_report
from bench.common import tf_outputs

ROUNDS = int(os.environ.get("BENCH_P3_ROUNDS", "10"))
TARGET = 1.30


def import_seconds(function: PackagedFunction, handler: str | None) -> float:
    seconds: float = function.probe([], handler=handler)["import_seconds"]
    return seconds


def p3(function: PackagedFunction, label: str) -> float:
    """Median handler import over median ``import boto3``, interleaved; prints and returns the ratio."""
    handler_times: list[float] = []
    boto3_times: list[float] = []
    for index in range(ROUNDS):
        pair = [(handler_times, None), (boto3_times, "boto3.client")]
        for times, handler in pair if index % 2 == 0 else reversed(pair):
            times.append(import_seconds(function, handler))
    handler, boto3 = statistics.median(handler_times), statistics.median(boto3_times)
    ratio = handler / boto3
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(
        f"P3: {label}: handler import {handler * 1000:.0f} ms, import boto3 {boto3 * 1000:.0f} ms "
        f"(median of {ROUNDS}), ratio {ratio:.2f}x (target <= {TARGET:.2f}x) {verdict}",
        flush=True,
    )
    return ratio


def main() -> None:
    outputs = tf_outputs()
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    if not only or "P3" in only:
        for agent in sorted(outputs["function_names"]):
            with unpacked(agent, outputs=outputs) as function:
                p3(function, f"{agent} cold import from the zips")
                compileall.compile_dir(
                    str(function.root),
                    quiet=1,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                p3(function, f"{agent} with hash-based .pyc in the layer (proposal)")
    if not only or "P4" in only:
        print(layer_size_report(build_dir() / outputs["lambda_runtime"] / "layer.zip"), flush=True)


if __name__ == "__main__":
    main()
