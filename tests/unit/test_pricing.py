"""The versioned price table: known models priced in Decimal, unknown ones unpriced (never $0)."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from autoninja.errors import InvalidInputError
from autoninja.pricing import (
    PRICE_TABLE_VERSION,
    PRICES,
    UNPRICED,
    Cost,
    canonical_model_id,
    cost,
    price_for,
)

SONNET_V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.mark.parametrize(
    "model_id",
    [
        SONNET_V2,
        f"us.{SONNET_V2}",
        f"eu.{SONNET_V2}",
        f"apac.{SONNET_V2}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_V2}",
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{SONNET_V2}",
        "US.ANTHROPIC.CLAUDE-3-5-SONNET-20241022-V2:0",
        "anthropic.claude-3-5-sonnet-20241022-v2",  # version suffix left out
        f"{SONNET_V2}:200k",  # context-window variant
    ],
)
def test_every_spelling_of_a_model_is_priced_as_that_model(model_id: str) -> None:
    # Given 1,000 input and 200 output tokens at $0.003 / $0.015 per 1K
    priced = cost(model_id, 1_000, 200)
    # Then the amount is exact, in Decimal, and names the table entry it used
    assert priced == Cost(Decimal("0.006000"), True, PRICE_TABLE_VERSION, None, SONNET_V2)
    assert isinstance(priced.amount, Decimal)
    assert priced.label == "$0.006000"


@pytest.mark.parametrize(
    ("model_id", "input_tokens", "output_tokens", "expected"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", 4_000, 1_000, "0.002250"),
        ("anthropic.claude-3-sonnet-20240229-v1:0", 10_000, 2_000, "0.060000"),
        ("anthropic.claude-3-opus-20240229-v1:0", 10_000, 2_000, "0.300000"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", 10_000, 2_000, "0.016000"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", 10_000, 2_000, "0.060000"),
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", 10_000, 2_000, "0.060000"),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", 10_000, 2_000, "0.060000"),
        ("amazon.nova-micro-v1:0", 1_000_000, 1_000_000, "0.175000"),
        ("us.amazon.nova-lite-v1:0", 1_000_000, 1_000_000, "0.300000"),
        ("amazon.nova-pro-v1:0", 1_000_000, 1_000_000, "4.000000"),
        ("amazon.titan-text-express-v1", 1_000_000, 1_000_000, "0.800000"),
        ("us.meta.llama3-1-70b-instruct-v1:0", 1_000_000, 1_000_000, "1.440000"),
        ("mistral.mistral-large-2402-v1:0", 1_000_000, 1_000_000, "16.000000"),
    ],
)
def test_known_models_cost_their_table_price(
    model_id: str, input_tokens: int, output_tokens: int, expected: str
) -> None:
    priced = cost(model_id, input_tokens, output_tokens)
    assert priced.priced
    assert priced.amount == Decimal(expected)
    assert str(priced.amount) == expected  # quantized to 6 places, not just numerically equal


def test_amounts_are_quantized_to_a_millionth_rounding_half_up() -> None:
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"  # $0.00025 per 1K input: $0.00000025 a token
    assert cost(haiku, 2, 0).amount == Decimal("0.000001")  # 0.0000005 rounds up
    assert cost(haiku, 1, 0).amount == Decimal("0.000000")  # 0.00000025 rounds down
    assert cost(haiku, 0, 0).amount == Decimal("0.000000")  # priced, and really nothing
    assert cost(haiku, 0, 0).priced
    assert cost(haiku, 123_457, 0).amount.as_tuple().exponent == -6  # type: ignore[union-attr]


def test_bigger_models_cost_more_than_smaller_ones() -> None:
    def amount(model_id: str) -> Decimal:
        priced = cost(model_id, 10_000, 10_000).amount
        assert priced is not None
        return priced

    opus = amount("anthropic.claude-3-opus-20240229-v1:0")
    sonnet = amount(SONNET_V2)
    haiku = amount("anthropic.claude-3-haiku-20240307-v1:0")
    assert opus > sonnet > haiku > 0


@pytest.mark.parametrize(
    ("model_id", "why"),
    [
        ("writer.palmyra-x5-v1:0", "not in the price table"),
        ("acme.frontier-2030-v1:0", "not in the price table"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/k7x2m9q4p1aa",
            "does not name its base model",
        ),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456", "does not name"),
    ],
)
def test_an_unknown_model_is_unpriced_never_free(model_id: str, why: str) -> None:
    priced = cost(model_id, 1_000, 1_000)
    assert priced.amount is None
    assert priced.priced is False
    assert priced.price_table_version == PRICE_TABLE_VERSION
    assert priced.reason is not None
    assert priced.reason.startswith(f"{UNPRICED}:")
    assert why in priced.reason
    assert model_id in priced.reason
    assert priced.label == UNPRICED


def test_missing_model_or_usage_is_unpriced() -> None:
    assert cost(None, 10, 10) == Cost(None, False, PRICE_TABLE_VERSION, "unpriced: no model id")
    assert cost(SONNET_V2, None, None) == Cost(
        None, False, PRICE_TABLE_VERSION, "unpriced: no token usage reported"
    )
    # One side of the usage missing counts as zero tokens on that side.
    assert cost(SONNET_V2, 1_000, None).amount == Decimal("0.003000")


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"])
def test_token_counts_must_be_non_negative_integers(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="non-negative integer"):
        cost(SONNET_V2, bad, 0)  # type: ignore[arg-type]


def test_costs_are_frozen() -> None:
    priced = cost(SONNET_V2, 1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        priced.amount = Decimal(0)  # type: ignore[misc]


def test_the_table_is_versioned_and_well_formed() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICE_TABLE_VERSION)
    assert len(PRICES) >= 30
    for model_id, price in PRICES.items():
        assert canonical_model_id(model_id) == model_id, model_id  # keys are canonical
        assert isinstance(price.input_per_1k, Decimal)
        assert isinstance(price.output_per_1k, Decimal)
        assert Decimal(0) < price.input_per_1k <= price.output_per_1k, model_id
    for family in ("anthropic.", "amazon.nova", "amazon.titan", "meta.llama3", "mistral."):
        assert any(model_id.startswith(family) for model_id in PRICES), family
    with pytest.raises(TypeError):
        PRICES["acme.free-v1"] = PRICES[SONNET_V2]  # type: ignore[index]


def test_canonical_model_id_strips_arns_profiles_and_context_suffixes() -> None:
    assert canonical_model_id("arn:aws:bedrock:eu-west-1:1:inference-profile/eu.amazon.nova-pro-v1:0") == (
        "amazon.nova-pro-v1:0"
    )
    assert canonical_model_id("us-gov.anthropic.claude-3-haiku-20240307-v1:0:48k") == (
        "anthropic.claude-3-haiku-20240307-v1:0"
    )
    assert price_for("meta.llama3-3-70b-instruct-v1") == (
        "meta.llama3-3-70b-instruct-v1:0",
        PRICES["meta.llama3-3-70b-instruct-v1:0"],
    )
    assert price_for("unknown.model-v1:0") is None
