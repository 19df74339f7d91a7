"""Helpers shared by the test tiers: the table definition used where Terraform is not in play."""

from __future__ import annotations

from typing import Any


def create_inference_table(client: Any, name: str) -> None:
    """Create a table shaped like terraform/modules/inference_store (for moto in-process tests)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "job_name", "KeyType": "HASH"},
            {"AttributeName": "record_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("job_name", "record_id", "session_id", "agent_name", "timestamp")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": "timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, hash_key in (
                ("SessionIdIndex", "session_id"),
                ("AgentNameTimestampIndex", "agent_name"),
            )
        ],
    )
