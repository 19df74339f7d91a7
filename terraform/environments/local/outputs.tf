output "region" {
  description = "Region of the stack."
  value       = var.region
}

output "endpoint" {
  description = "Emulator URL the stack was applied to (set AWS_ENDPOINT_URL to it)."
  value       = var.endpoint
}

output "name_prefix" {
  description = "Prefix of every resource name."
  value       = var.name_prefix
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key (send it as SSEKMSKeyId on every upload)."
  value       = module.kms.key_arn
}

output "kms_key_id" {
  description = "Key ID of the customer-managed key."
  value       = module.kms.key_id
}

output "seal_signing_key_arn" {
  description = "ARN of the asymmetric key that signs job seals (AUTONINJA_SIGNING_KEY_ID)."
  value       = module.kms.signing_key_arn
}

output "kms_alias_name" {
  description = "Alias of the customer-managed key."
  value       = module.kms.alias_name
}

output "inference_table_name" {
  description = "Name of the inference-records table."
  value       = module.inference_store.table_name
}

output "inference_table_arn" {
  description = "ARN of the inference-records table."
  value       = module.inference_store.table_arn
}

output "inference_table_index_arns" {
  description = "ARN of each of the table's global secondary indexes, by index name."
  value       = module.inference_store.index_arns
}

output "artifact_bucket_name" {
  description = "Name of the artifacts bucket."
  value       = module.artifact_store.bucket_name
}

output "artifact_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = module.artifact_store.bucket_arn
}

output "artifact_bucket_policy_attached" {
  description = "Whether the artifacts bucket carries the TLS/KMS deny policy."
  value       = module.artifact_store.policy_attached
}

output "lambda_runtime" {
  description = "Lambda runtime of the layer and the functions (build/<runtime>/ holds their zips)."
  value       = var.lambda_runtime
}

output "layer_arn" {
  description = "ARN (with version) of the AutoNinja layer every function uses."
  value       = module.layer.arn
}

output "function_names" {
  description = "Name of each action-group function, by agent name."
  value       = { for agent, function in module.functions : agent => function.function_name }
}

output "function_arns" {
  description = "ARN of each action-group function, by agent name."
  value       = { for agent, function in module.functions : agent => function.function_arn }
}
