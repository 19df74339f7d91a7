"""docker-compose.localstack.yml: loopback port, pinned tag, auth token passed through, health check."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.localstack.yml"


def service() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["localstack"]


def test_binds_localstack_port_on_loopback_only() -> None:
    assert service()["ports"] == ["127.0.0.1:4566:4566"]


def test_image_tag_is_pinned_to_a_version() -> None:
    image = service()["image"]
    name, _, tag = image.partition(":")
    assert name == "localstack/localstack"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"unpinned tag {tag!r}"


def test_auth_token_is_passed_through_not_committed() -> None:
    token = service()["environment"]["LOCALSTACK_AUTH_TOKEN"]
    assert token.startswith("${LOCALSTACK_AUTH_TOKEN")
    assert re.fullmatch(r"\$\{LOCALSTACK_AUTH_TOKEN(:?[?-][^}]*)?\}", token)


def test_has_a_health_check_against_the_gateway() -> None:
    check = service()["healthcheck"]["test"]
    assert any("4566/_localstack/health" in part for part in check)
