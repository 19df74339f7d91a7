"""AutoNinja's persistence layer: an audit trail for Bedrock multi-agent jobs.

Modules, bottom up:

- :mod:`autoninja.errors`        one error hierarchy for the whole package
- :mod:`autoninja.settings`      configuration from the environment, validated at cold start
- :mod:`autoninja.jobs`          job names ``job-{keyword}-{YYYYMMDD-HHMMSS}``
- :mod:`autoninja.artifacts`     S3 objects under ``{job}/{phase}/{agent}/{file}``, SSE-KMS
- :mod:`autoninja.records`       the inference-records table: exactly-once writes and full queries
- :mod:`autoninja.payloads`      large bodies offloaded to S3 and rehydrated on read
- :mod:`autoninja.observability` Powertools Logger and Metrics
- :mod:`autoninja.action`        the persisted-action flow every function runs
"""

__version__ = "0.1.0"
