output "key_arn" {
  description = "ARN of the customer-managed key; pass it to every storage module (table SSE, bucket SSE-KMS, log groups)."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Key ID (UUID) of the customer-managed key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias of the key, \"alias/<name>\"."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "ARN of the key's alias."
  value       = aws_kms_alias.this.arn
}

output "signing_key_arn" {
  description = "ARN of the asymmetric job-seal signing key (ECC_NIST_P256), or null when create_signing_key is false."
  value       = var.create_signing_key ? aws_kms_key.seal[0].arn : null
}
