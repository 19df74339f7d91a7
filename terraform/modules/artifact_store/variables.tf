variable "bucket_name" {
  description = "Globally unique name of the artifacts bucket."
  type        = string

  validation {
    condition = alltrue([
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)),
      !strcontains(var.bucket_name, ".."),
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name)),
      !startswith(var.bucket_name, "xn--"),
      !startswith(var.bucket_name, "sthree-"),
      !endswith(var.bucket_name, "-s3alias"),
      !endswith(var.bucket_name, "--ol-s3"),
    ])
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 characters of [a-z0-9.-], starting and ending with a letter or digit, no \"..\", not an IP address, without the reserved prefixes xn--/sthree- and suffixes -s3alias/--ol-s3."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key: the bucket's default encryption key and the only key the bucket policy accepts on uploads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not a key ID or an alias."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after an object version becomes noncurrent (overwritten or deleted) before S3 expires it."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after initiation before S3 aborts an unfinished multipart upload and frees its parts."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of at least 1."
  }
}

variable "attach_policy" {
  description = "Attach the bucket policy that denies requests without TLS and uploads not encrypted with kms_key_arn. Keep true. Set false only for an emulator that cannot evaluate policy conditions: moto evaluates only StringEquals, so it applies every Deny statement unconditionally and refuses every object request."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete the bucket with every object version in it. Keep false outside throw-away stacks."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the bucket (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}
