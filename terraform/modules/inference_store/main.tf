# The inference-records table: one item per agent action or model invocation, keyed by job.
#   job_name  (S, partition) - "job-<keyword>-<YYYYMMDD-HHMMSS>"
#   record_id (S, sort)      - unique, time-ordered: "rec#<ISO-8601 UTC>#<random>", plus "job#meta" items
# Users query by session and by agent through the two GSIs below; their names are part of the contract.

locals {
  session_index_name = "SessionIdIndex"
  agent_index_name   = "AgentNameTimestampIndex"
}

resource "aws_dynamodb_table" "this" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "job_name"
  range_key                   = "record_id"
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "job_name"
    type = "S"
  }

  attribute {
    name = "record_id"
    type = "S"
  }

  attribute {
    name = "session_id"
    type = "S"
  }

  attribute {
    name = "agent_name"
    type = "S"
  }

  attribute {
    name = "timestamp"
    type = "S"
  }

  global_secondary_index {
    name            = local.session_index_name
    hash_key        = "session_id"
    range_key       = "timestamp"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = local.agent_index_name
    hash_key        = "agent_name"
    range_key       = "timestamp"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute_name == null ? [] : [var.ttl_attribute_name]

    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }
}
