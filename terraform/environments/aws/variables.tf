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

variable "lambda_runtime" {
  description = "Lambda runtime of the layer and the functions; the zips in package_dir must be built for it (LAMBDA_RUNTIME in the Makefile)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Lambda Python runtime such as python3.12."
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

variable "log_retention_days" {
  description = "Days the functions' log groups keep their lines (a CloudWatch retention value; at least a year for an audit trail)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least 365."
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

variable "generated_agent_role_arn" {
  description = "IAM role the Bedrock agents that /configure-agent creates run as (AUTONINJA_AGENT_RESOURCE_ROLE_ARN), the only role the deployment-manager may pass to Bedrock; null: none, and /configure-agent is refused by IAM."
  type        = string
  default     = null

  validation {
    condition     = var.generated_agent_role_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.generated_agent_role_arn, "-")))
    error_message = "generated_agent_role_arn must be null or an IAM role ARN."
  }
}

variable "enable_bedrock_agents" {
  description = "Create the supervisor and the five collaborator agents (modules/bedrock_agents) and let each invoke its function."
  type        = bool
  default     = true
}

variable "foundation_model" {
  description = "Foundation model (model ID) the agents run on."
  type        = string
  default     = "anthropic.claude-3-5-sonnet-20240620-v1:0"

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[a-zA-Z0-9.:-]+$", var.foundation_model))
    error_message = "foundation_model must be a Bedrock model ID."
  }
}
