"""What a model invocation cost: a versioned price table and one function that prices usage.

Why. The audit trail records every prompt and response with its token usage; a cost turns usage into a
number a person can act on. A guessed ``$0`` would be a lie that looks like a fact, so a model the table
does not know is reported as *unpriced* (no amount, a reason), never as free. Prices change, so every
cost carries :data:`PRICE_TABLE_VERSION`: a record priced today can be re-priced or explained later.

The table. USD per 1,000 input and output tokens, Amazon Bedrock on-demand list prices in us-east-1
(standard tier) as published on the Amazon Bedrock pricing page; batch, provisioned throughput, prompt
caching and regional price differences are not modelled. Cross-region (geographic) inference profiles
such as ``us.`` or ``eu.`` are priced as the model they route to, which is how Bedrock bills them.

Matching. A model may be named by its id (``anthropic.claude-3-5-sonnet-20241022-v2:0``), by a
cross-region inference profile id (``us.anthropic.claude-3-5-sonnet-20241022-v2:0``), or by an ARN
ending in either (``arn:aws:bedrock:us-east-1::foundation-model/...``,
``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us....``). Case, a context-window suffix
(``:200k``) and a missing ``:0`` version do not matter. Application inference profiles, provisioned and
custom models are named by opaque ids, so they are unpriced.

Example::

    cost("us.anthropic.claude-3-5-sonnet-20241022-v2:0", input_tokens=1_000, output_tokens=200)
    # Cost(amount=Decimal('0.006000'), priced=True, price_table_version='2026-12-01', reason=None, ...)
    cost("acme.unknown-model-v1:0", 10, 10).label   # 'unpriced'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from autoninja.errors import InvalidInputError

#: The version of :data:`PRICES`; stored on every priced record as ``price_table_version``.
PRICE_TABLE_VERSION = "2026-12-01"

#: Costs are quantized to a millionth of a dollar.
COST_QUANTUM = Decimal("0.000001")

#: What a cost shows instead of an amount when the model is not in the table.
UNPRICED = "unpriced"

_PER = Decimal(1_000)

#: Prefixes of cross-region (geographic and global) inference profile ids.
_PROFILE_PREFIXES = frozenset({"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"})
_CONTEXT_SUFFIX = re.compile(r":\d+k$")
_VERSION_SUFFIX = re.compile(r":\d+$")
_UNNAMED_RESOURCES = (
    "application-inference-profile/",
    "provisioned-model/",
    "custom-model/",
    "imported-model/",
    "prompt-router/",
    "default-prompt-router/",
    "custom-model-deployment/",
)


@dataclass(frozen=True)
class Price:
    """USD per 1,000 input tokens and per 1,000 output tokens of one model."""

    input_per_1k: Decimal
    output_per_1k: Decimal


def _p(input_per_1k: str, output_per_1k: str) -> Price:
    return Price(Decimal(input_per_1k), Decimal(output_per_1k))


#: Version :data:`PRICE_TABLE_VERSION` of the price table, by Bedrock base model id.
PRICES: Mapping[str, Price] = MappingProxyType(
    {
        # Anthropic
        "anthropic.claude-instant-v1": _p("0.0008", "0.0024"),
        "anthropic.claude-v2": _p("0.008", "0.024"),
        "anthropic.claude-v2:1": _p("0.008", "0.024"),
        "anthropic.claude-3-haiku-20240307-v1:0": _p("0.00025", "0.00125"),
        "anthropic.claude-3-sonnet-20240229-v1:0": _p("0.003", "0.015"),
        "anthropic.claude-3-opus-20240229-v1:0": _p("0.015", "0.075"),
        "anthropic.claude-3-5-haiku-20241022-v1:0": _p("0.0008", "0.004"),
        "anthropic.claude-3-5-sonnet-20240620-v1:0": _p("0.003", "0.015"),
        "anthropic.claude-3-5-sonnet-20241022-v2:0": _p("0.003", "0.015"),
        "anthropic.claude-3-7-sonnet-20250219-v1:0": _p("0.003", "0.015"),
        "anthropic.claude-sonnet-4-20250514-v1:0": _p("0.003", "0.015"),
        "anthropic.claude-opus-4-20250514-v1:0": _p("0.015", "0.075"),
        "anthropic.claude-opus-4-1-20250805-v1:0": _p("0.015", "0.075"),
        "anthropic.claude-sonnet-4-5-20250929-v1:0": _p("0.003", "0.015"),
        "anthropic.claude-haiku-4-5-20251001-v1:0": _p("0.001", "0.005"),
        # Amazon
        "amazon.nova-micro-v1:0": _p("0.000035", "0.00014"),
        "amazon.nova-lite-v1:0": _p("0.00006", "0.00024"),
        "amazon.nova-pro-v1:0": _p("0.0008", "0.0032"),
        "amazon.nova-premier-v1:0": _p("0.0025", "0.0125"),
        "amazon.titan-text-lite-v1": _p("0.00015", "0.0002"),
        "amazon.titan-text-express-v1": _p("0.0002", "0.0006"),
        "amazon.titan-text-premier-v1:0": _p("0.0005", "0.0015"),
        # Meta
        "meta.llama3-8b-instruct-v1:0": _p("0.0003", "0.0006"),
        "meta.llama3-70b-instruct-v1:0": _p("0.00265", "0.0035"),
        "meta.llama3-1-8b-instruct-v1:0": _p("0.00022", "0.00022"),
        "meta.llama3-1-70b-instruct-v1:0": _p("0.00072", "0.00072"),
        "meta.llama3-1-405b-instruct-v1:0": _p("0.0024", "0.0024"),
        "meta.llama3-2-1b-instruct-v1:0": _p("0.0001", "0.0001"),
        "meta.llama3-2-3b-instruct-v1:0": _p("0.00015", "0.00015"),
        "meta.llama3-2-11b-instruct-v1:0": _p("0.00016", "0.00016"),
        "meta.llama3-2-90b-instruct-v1:0": _p("0.00072", "0.00072"),
        "meta.llama3-3-70b-instruct-v1:0": _p("0.00072", "0.00072"),
        # Mistral AI
        "mistral.mistral-7b-instruct-v0:2": _p("0.00015", "0.0002"),
        "mistral.mixtral-8x7b-instruct-v0:1": _p("0.00045", "0.0007"),
        "mistral.mistral-small-2402-v1:0": _p("0.001", "0.003"),
        "mistral.mistral-large-2402-v1:0": _p("0.004", "0.012"),
        "mistral.mistral-large-2407-v1:0": _p("0.002", "0.006"),
        # Cohere
        "cohere.command-r-v1:0": _p("0.0005", "0.0015"),
        "cohere.command-r-plus-v1:0": _p("0.003", "0.015"),
    }
)

#: The same table keyed without the trailing ``:N`` version, for ids that leave it out.
_BY_BASE_ID: Mapping[str, str] = MappingProxyType(
    {_VERSION_SUFFIX.sub("", model): model for model in sorted(PRICES, reverse=True)}
)


@dataclass(frozen=True)
class Cost:
    """The estimated cost of one model invocation.

    ``amount`` is USD quantized to 6 decimal places when ``priced``; otherwise it is ``None`` and
    ``reason`` says why (an unpriced cost is never ``$0``). ``priced_as`` is the table entry used.
    """

    amount: Decimal | None
    priced: bool
    price_table_version: str
    reason: str | None = None
    priced_as: str | None = None

    @property
    def label(self) -> str:
        """For people: ``"$0.012345"``, or ``"unpriced"``."""
        return f"${self.amount}" if self.amount is not None else UNPRICED


def canonical_model_id(model_id: str) -> str:
    """The bare model id inside an ARN or a cross-region inference profile id, lower-cased.

    Example::

        canonical_model_id("arn:aws:bedrock:us-east-1:1:inference-profile/us.amazon.nova-pro-v1:0")
        # 'amazon.nova-pro-v1:0'
    """
    name = model_id.strip().lower()
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]
    prefix, dot, rest = name.partition(".")
    if dot and prefix in _PROFILE_PREFIXES:
        name = rest
    return _CONTEXT_SUFFIX.sub("", name)


def price_for(model_id: str) -> tuple[str, Price] | None:
    """The table entry for ``model_id`` (any of the accepted spellings), or ``None`` if it has none."""
    name = canonical_model_id(model_id)
    if name in PRICES:
        return name, PRICES[name]
    entry = _BY_BASE_ID.get(_VERSION_SUFFIX.sub("", name))
    return (entry, PRICES[entry]) if entry else None


def _tokens(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def cost(model_id: str | None, input_tokens: int | None, output_tokens: int | None) -> Cost:
    """Price one invocation with table :data:`PRICE_TABLE_VERSION`.

    Why: usage becomes money in one place, with one rounding rule, and an unknown model or missing
    usage is said to be unpriced rather than silently costed at zero.

    Example::

        cost("anthropic.claude-3-haiku-20240307-v1:0", 4_000, 1_000).amount   # Decimal('0.002250')
        cost("anthropic.claude-3-haiku-20240307-v1:0", None, None).priced     # False
    """
    if not model_id:
        return Cost(None, False, PRICE_TABLE_VERSION, f"{UNPRICED}: no model id")
    if input_tokens is None and output_tokens is None:
        return Cost(None, False, PRICE_TABLE_VERSION, f"{UNPRICED}: no token usage reported")
    consumed = _tokens("input_tokens", input_tokens or 0), _tokens("output_tokens", output_tokens or 0)
    entry = price_for(model_id)
    if entry is None:
        lowered = model_id.lower()
        if any(resource in lowered for resource in _UNNAMED_RESOURCES):
            why = "the ARN does not name its base model"
        else:
            why = "the model is not in the price table"
        reason = f"{UNPRICED}: {why} (model {model_id}, price table {PRICE_TABLE_VERSION})"
        return Cost(None, False, PRICE_TABLE_VERSION, reason)
    name, price = entry
    amount = (consumed[0] * price.input_per_1k + consumed[1] * price.output_per_1k) / _PER
    return Cost(
        amount.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP),
        True,
        PRICE_TABLE_VERSION,
        priced_as=name,
    )
