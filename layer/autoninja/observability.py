"""Structured JSON logs and EMF metrics, from Powertools; nothing hand-written.

One :class:`Observability` per function, built at cold start. Per invocation it appends the job,
agent, action and session keys to every log line, and clears them before the next invocation
(``clear_state=True``), so one request's keys never leak into another's lines. Raw prompts and
responses are never logged at INFO: they live in the inference-records table.

Example::

    obs = Observability.for_agent("code-generator", level="INFO")
    handler = obs.instrument(my_handler)     # JSON logs with correlation id = Bedrock sessionId
    obs.bind(job_name="job-friend-20261203-192142", action_name="/generate-lambda-code")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

METRICS_NAMESPACE = "AutoNinja"


@dataclass
class Observability:
    """A function's Powertools ``Logger`` and ``Metrics``, wired the same way everywhere."""

    logger: Logger
    metrics: Metrics

    @classmethod
    def for_agent(cls, agent_name: str, *, level: str = "INFO") -> Observability:
        """Logger and metrics for one agent's function (service name = agent name)."""
        logger = Logger(service=agent_name, level=level)
        metrics = Metrics(namespace=METRICS_NAMESPACE, service=agent_name)
        return cls(logger=logger, metrics=metrics)

    def instrument(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[..., Any]:
        """Wrap a Lambda handler: Lambda context in logs, sessionId as correlation id, state cleared,
        metrics flushed as EMF after every invocation."""
        with_logs = self.logger.inject_lambda_context(
            correlation_id_path="sessionId", clear_state=True, log_event=False
        )(handler)
        instrumented: Callable[..., Any] = self.metrics.log_metrics(raise_on_empty_metrics=False)(with_logs)
        return instrumented

    def bind(self, **keys: str | None) -> None:
        """Append keys (job_name, agent_name, action_name, session_id) to every following log line."""
        self.logger.append_keys(**{k: v for k, v in keys.items() if v is not None})

    def record_action(
        self,
        *,
        action_name: str,
        status: str,
        duration_seconds: Decimal,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: Decimal | None = None,
    ) -> None:
        """Emit latency, outcome, token and cost metrics for one action."""
        self.metrics.add_dimension(name="action", value=action_name)
        self.metrics.add_metric(
            name="ActionLatency", unit=MetricUnit.Milliseconds, value=float(duration_seconds * 1000)
        )
        self.metrics.add_metric(
            name="ActionSuccess" if status == "success" else "ActionError", unit=MetricUnit.Count, value=1
        )
        if input_tokens:
            self.metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=input_tokens)
        if output_tokens:
            self.metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=output_tokens)
        if cost:
            self.metrics.add_metric(name="CostEstimateUSD", unit=MetricUnit.NoUnit, value=float(cost))
