variable "region" {
  description = "AWS region the stack is deployed to."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name, e.g. us-east-1."
  }
}

variable "environment" {
  description = "Deployment stage, used in the environment tag and in resource names (e.g. dev, staging, prod)."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 characters of [a-z0-9], starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (table, bucket, key alias). null: \"autoninja-<environment>\"."
  type        = string
  default     = null

  validation {
    # The bucket name "<prefix>-artifacts-<12-digit account>" must stay within S3's 63 characters.
    condition     = var.name_prefix == null || can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be null or 3-40 characters of [a-z0-9-], starting with a letter and not ending with \"-\"."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a noncurrent artifact version is kept before S3 expires it."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}
