output "bucket_name" {
  description = "Name of the artifacts bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the artifacts bucket (append \"/<prefix>*\" for object-level IAM grants)."
  value       = aws_s3_bucket.this.arn
}

output "policy_attached" {
  description = "Whether the TLS/KMS deny policy is attached to the bucket (false only on emulators that cannot evaluate it)."
  value       = length(aws_s3_bucket_policy.this) == 1
}
