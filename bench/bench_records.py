"""P1, P2 and P5: the persistence library against bare boto3 on the same emulator.

- P1: start+finish of a record vs bare ``put_item`` + ``update_item``, 2,000 records a side.
- P2: reading a 10,000-record job through the library vs a raw boto3 query paginator.
- P5: a 5 MB-payload record round trip vs a raw S3 put+get of the same bytes.

Run with ``make bench`` (it starts the local stack if needed).
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from autoninja.artifacts import S3ObjectStore
from autoninja.models import utc_timestamp
from autoninja.records import DynamoInferenceTable, InferenceLog, new_record_id, serialise
from bench.common import compare, tf_outputs, unique_job

P1_RECORDS = int(os.environ.get("BENCH_P1_RECORDS", "2000"))
P2_RECORDS = int(os.environ.get("BENCH_P2_RECORDS", "10000"))
CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5})
PROMPT = '{"messageVersion": "1.0", "apiPath": "/generate-lambda-code", "body": "' + "x" * 1500 + '"}'
RESPONSE = '{"files": {"app.py": "' + "y" * 1500 + '"}}'


def main() -> None:
    outputs = tf_outputs()
    table, bucket, key = (
        outputs["inference_table_name"],
        outputs["artifact_bucket_name"],
        outputs["kms_key_arn"],
    )
    dynamodb = boto3.client("dynamodb", config=CONFIG)
    s3 = boto3.client("s3", config=CONFIG)
    log = InferenceLog(
        DynamoInferenceTable(table, client=dynamodb),
        S3ObjectStore(bucket, key, config=CONFIG),  # built the way production builds it
        payload_threshold_bytes=100_000,
    )
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    for name, bench in (("P1", p1), ("P2", p2), ("P5", p5)):
        if not only or name in only:
            bench(log, dynamodb, s3, table, bucket, key)


def p1(log: InferenceLog, dynamodb: Any, s3: Any, table: str, bucket: str, key: str) -> None:
    job = unique_job("pone")
    batch = max(P1_RECORDS // 4, 1)

    def library() -> None:
        for _ in range(batch):
            handle = log.start(
                job_name=job,
                agent_name="code-generator",
                action_name="/generate-lambda-code",
                session_id="bench",
                prompt=PROMPT,
            )
            log.finish(
                handle,
                response=RESPONSE,
                input_tokens=1200,
                output_tokens=300,
                cost_estimate=Decimal("0.0081"),
                duration_seconds=Decimal("1.5"),
            )

    def baseline() -> None:
        for _ in range(batch):
            record_id, now = new_record_id(), utc_timestamp()
            dynamodb.put_item(
                TableName=table,
                Item={
                    "job_name": {"S": job},
                    "record_id": {"S": record_id},
                    "timestamp": {"S": now},
                    "session_id": {"S": "bench"},
                    "agent_name": {"S": "code-generator"},
                    "action_name": {"S": "/generate-lambda-code"},
                    "status": {"S": "in_progress"},
                    "prompt": {"S": PROMPT},
                },
            )
            dynamodb.update_item(
                TableName=table,
                Key={"job_name": {"S": job}, "record_id": {"S": record_id}},
                UpdateExpression="SET #s = :s, #r = :r, input_tokens = :i, output_tokens = :o, "
                "cost_estimate = :c, duration_seconds = :d",
                ExpressionAttributeNames={"#s": "status", "#r": "response"},
                ExpressionAttributeValues={
                    ":s": {"S": "success"},
                    ":r": {"S": RESPONSE},
                    ":i": {"N": "1200"},
                    ":o": {"N": "300"},
                    ":c": {"N": "0.0081"},
                    ":d": {"N": "1.5"},
                },
            )

    compare(
        "P1",
        f"start+finish vs put_item+update_item, {P1_RECORDS} records a side",
        library,
        baseline,
        rounds=4,
        target=1.10,
    )


def p2(log: InferenceLog, dynamodb: Any, s3: Any, table: str, bucket: str, key: str) -> None:
    job = unique_job("ptwo")
    items = []
    for index in range(P2_RECORDS):
        record_id = new_record_id()
        items.append(
            {
                "PutRequest": {
                    "Item": serialise(
                        {
                            "job_name": job,
                            "record_id": record_id,
                            "timestamp": record_id[4:31],
                            "session_id": "bench",
                            "agent_name": "solution-architect",
                            "action_name": "/design-architecture",
                            "status": "success",
                            "prompt": f"{index}:{PROMPT}",
                            "response": RESPONSE,
                            "input_tokens": 1000,
                            "output_tokens": 200,
                            "tokens_used": 1200,
                            "cost_estimate": Decimal("0.0061"),
                            "duration_seconds": Decimal("0.8"),
                            "content_hash": secrets.token_hex(32),
                        }
                    )
                }
            }
        )
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: items[start : start + 25]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def library() -> None:
        count = sum(1 for _ in log.job(job))
        assert count == P2_RECORDS, count

    def baseline() -> None:
        paginator = dynamodb.get_paginator("query")
        count = 0
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="#pk = :job AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": "job_name", "#sk": "record_id"},
            ExpressionAttributeValues={":job": {"S": job}, ":prefix": {"S": "rec#"}},
            ConsistentRead=True,
        ):
            count += len(page["Items"])
        assert count == P2_RECORDS, count

    compare(
        "P2",
        f"read a {P2_RECORDS}-record job vs raw query paginator",
        library,
        baseline,
        rounds=3,
        target=1.10,
    )


def p5(log: InferenceLog, dynamodb: Any, s3: Any, table: str, bucket: str, key: str) -> None:
    job = unique_job("pfive")
    payload = secrets.token_hex(2_621_440)  # 5 MiB of text

    def library() -> None:
        handle = log.start(
            job_name=job,
            agent_name="code-generator",
            action_name="/generate-lambda-code",
            session_id="bench",
            prompt=payload,
        )
        log.finish(handle, response="ok")
        assert log.get(job, handle.record_id).prompt == payload

    def baseline() -> None:
        object_key = f"{job}/baseline/{secrets.token_hex(4)}.txt"
        s3.put_object(
            Bucket=bucket,
            Key=object_key,
            Body=payload.encode(),
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key,
        )
        assert s3.get_object(Bucket=bucket, Key=object_key)["Body"].read().decode() == payload

    compare(
        "P5", "5 MB-payload record round trip vs raw S3 put+get", library, baseline, rounds=7, target=1.30
    )
    S3ObjectStore(bucket, key, client=s3).purge(f"{job}/")


if __name__ == "__main__":
    main()
