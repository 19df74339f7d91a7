variable "endpoint" {
  description = "URL of the AWS emulator (moto server or LocalStack) every service endpoint points at."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[a-zA-Z0-9.:\\[\\]-]+/?$", var.endpoint)) && !strcontains(lower(var.endpoint), "amazonaws.com")
    error_message = "endpoint must be an emulator URL such as http://127.0.0.1:4566 (scheme, host, port; no path), never an amazonaws.com endpoint."
  }
}

variable "region" {
  description = "Region the emulator pretends to be in."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, e.g. us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (table, bucket, key alias)."
  type        = string
  default     = "autoninja-local"

  validation {
    # The bucket name "<prefix>-artifacts-<12-digit account>" must stay within S3's 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of [a-z0-9-], start with a letter and not end with \"-\"."
  }
}

variable "attach_bucket_policy" {
  description = "Attach the artifacts bucket's TLS/KMS deny policy. false (the default) for moto, which evaluates only StringEquals conditions and would therefore deny every object request; true for LocalStack or another emulator that evaluates (or ignores) bucket policies."
  type        = bool
  default     = false
}
