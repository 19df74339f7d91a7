output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function (the Bedrock action group's executor)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's own IAM role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's own IAM role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group, \"/aws/lambda/<function_name>\"."
  value       = aws_cloudwatch_log_group.this.name
}

output "code_sha256" {
  description = "Base64 SHA-256 of the deployed zip, as Lambda reports it."
  value       = aws_lambda_function.this.code_sha256
}
