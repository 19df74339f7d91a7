output "table_name" {
  description = "Name of the inference-records table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the inference-records table."
  value       = aws_dynamodb_table.this.arn
}

output "index_arns" {
  description = "ARN of each global secondary index, by index name (SessionIdIndex, AgentNameTimestampIndex)."
  value = {
    for name in [local.session_index_name, local.agent_index_name] :
    name => "${aws_dynamodb_table.this.arn}/index/${name}"
  }
}

output "index_arn_pattern" {
  description = "\"<table ARN>/index/*\": the resource to grant in IAM policies that query the table's indexes."
  value       = "${aws_dynamodb_table.this.arn}/index/*"
}
