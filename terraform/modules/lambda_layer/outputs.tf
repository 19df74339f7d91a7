output "arn" {
  description = "ARN of the published layer version (with its version number): what functions list in `layers`."
  value       = aws_lambda_layer_version.this.arn
}

output "layer_arn" {
  description = "ARN of the layer without a version."
  value       = aws_lambda_layer_version.this.layer_arn
}

output "version" {
  description = "Version number of the published layer version."
  value       = aws_lambda_layer_version.this.version
}

output "code_sha256" {
  description = "Base64 SHA-256 of the layer zip, as Lambda reports it."
  value       = aws_lambda_layer_version.this.code_sha256
}
