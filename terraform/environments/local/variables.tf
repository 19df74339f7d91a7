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

variable "lambda_runtime" {
  description = "Lambda runtime of the layer and the functions. Locally the Python version of this machine's .venv (LOCAL_LAMBDA_RUNTIME in the Makefile), so the packaged handlers can run here."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Lambda Python runtime such as python3.11."
  }
}

variable "package_dir" {
  description = "Folder holding the zips `make package` built for lambda_runtime: layer.zip and functions/<agent>.zip. null: build/<lambda_runtime> of this repository."
  type        = string
  default     = null

  validation {
    condition     = var.package_dir == null || length(coalesce(var.package_dir, "x")) > 0
    error_message = "package_dir must be null or a folder path."
  }
}

variable "log_level" {
  description = "AUTONINJA_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "deploy_stack_prefix" {
  description = "Prefix of every CloudFormation stack the deployment-manager may create (AUTONINJA_DEPLOY_STACK_PREFIX; its IAM rights are scoped to it)."
  type        = string
  default     = "autoninja-"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,63}$", var.deploy_stack_prefix))
    error_message = "deploy_stack_prefix must be 1-64 characters of [A-Za-z0-9-], starting with a letter."
  }
}

variable "enable_bedrock_agents" {
  description = "Create the Bedrock agents (modules/bedrock_agents) and let them invoke the functions. false (the default): moto has no agent action groups, aliases or collaborators."
  type        = bool
  default     = false
}
