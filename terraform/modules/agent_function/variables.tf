variable "agent_name" {
  description = "The AutoNinja agent this function serves (functions/<agent_name>/app.py); also its service name in logs and metrics."
  type        = string

  validation {
    condition     = contains(["requirements-analyst", "solution-architect", "code-generator", "quality-validator", "deployment-manager"], var.agent_name)
    error_message = "agent_name must be one of requirements-analyst, solution-architect, code-generator, quality-validator, deployment-manager."
  }
}

variable "function_name" {
  description = "Name of the Lambda function (and of its role \"<name>-role\" and log group \"/aws/lambda/<name>\")."
  type        = string

  validation {
    # 59 leaves room for the "-role" suffix of the role name (IAM allows 64 characters).
    condition     = can(regex("^[a-zA-Z0-9_-]{1,59}$", var.function_name))
    error_message = "function_name must be 1-59 characters of [a-zA-Z0-9_-]."
  }
}

variable "zip_path" {
  description = "Path of the function zip built by `make package` (app.py at its root), e.g. build/python3.12/functions/<agent>.zip."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must name a .zip file (build it with `make package`)."
  }
}

variable "layer_arn" {
  description = "ARN (with version) of the AutoNinja layer the function imports the library from."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a Lambda layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)."
  }
}

variable "runtime" {
  description = "Lambda runtime; must be the one the layer and zip were built for (LAMBDA_RUNTIME in the Makefile)."
  type        = string

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a Lambda Python runtime such as python3.12."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Seconds an invocation may run. Bedrock waits for action groups; the deployment-manager waits for stacks and agents (AUTONINJA_DEPLOY_WAIT_SECONDS, up to 840) and needs more."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function; -1 (the default) reserves none and uses the account's unreserved pool."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be -1 (none reserved) or a whole number of at least 0."
  }
}

variable "log_level" {
  description = "AUTONINJA_LOG_LEVEL: level of the function's structured logs."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the function's log lines (a value CloudWatch accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project's customer-managed key: AUTONINJA_KMS_KEY_ID (SSE-KMS on every upload), the log group's key and the key of the function's environment variables."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not a key ID or an alias."
  }
}

variable "signing_key_arn" {
  description = "ARN of an asymmetric KMS key for job seals (AUTONINJA_SIGNING_KEY_ID), or null (the default) for none."
  type        = string
  default     = null

  validation {
    condition     = var.signing_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.signing_key_arn, "-")))
    error_message = "signing_key_arn must be null or a KMS key ARN."
  }
}

variable "table_name" {
  description = "Name of the inference-records table (AUTONINJA_INFERENCE_TABLE)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of [a-zA-Z0-9_.-]."
  }
}

variable "table_arn" {
  description = "ARN of the inference-records table: the role may write and read items of it and query its indexes, nothing else in DynamoDB."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN."
  }
}

variable "bucket_name" {
  description = "Name of the artifacts bucket (AUTONINJA_ARTIFACT_BUCKET)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "bucket_arn" {
  description = "ARN of the artifacts bucket: the role may put and get objects under job-*/ and put under _dead-letters/, nothing else."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>)."
  }
}

variable "environment_variables" {
  description = "Extra environment variables (e.g. AUTONINJA_PAYLOAD_THRESHOLD_BYTES). The module's own settings (table, bucket, key, log level, agent, Powertools) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.environment_variables) : can(regex("^[a-zA-Z][a-zA-Z0-9_]*$", name)) && !startswith(name, "AWS_")])
    error_message = "environment_variables names must be [a-zA-Z][a-zA-Z0-9_]* and not start with AWS_ (reserved by Lambda)."
  }
}

variable "deploy_permissions" {
  description = "Deployment rights, for the deployment-manager only; null (the default) for every other function. stack_name_prefix: every stack it may create, update or delete starts with it (AUTONINJA_DEPLOY_STACK_PREFIX). agent_resource_role_arn: the only role it may pass to Bedrock for the agents it configures (AUTONINJA_AGENT_RESOURCE_ROLE_ARN), or null."
  type = object({
    stack_name_prefix       = string
    agent_resource_role_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.deploy_permissions == null || can(regex("^[A-Za-z][A-Za-z0-9-]{0,63}$", try(var.deploy_permissions.stack_name_prefix, "")))
    error_message = "deploy_permissions.stack_name_prefix must be 1-64 characters of [A-Za-z0-9-], starting with a letter."
  }

  validation {
    condition     = try(var.deploy_permissions.agent_resource_role_arn, null) == null || can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$", try(var.deploy_permissions.agent_resource_role_arn, "")))
    error_message = "deploy_permissions.agent_resource_role_arn must be null or an IAM role ARN."
  }
}

variable "allow_bedrock_agent_invoke" {
  description = "Let Bedrock invoke the function on behalf of bedrock_agent_arn (true where the Bedrock agents exist)."
  type        = bool
  default     = false
}

variable "bedrock_agent_arn" {
  description = "ARN of the Bedrock agent whose action group calls this function: the only source Bedrock may invoke it for. Required when allow_bedrock_agent_invoke is true."
  type        = string
  default     = null

  validation {
    condition     = var.bedrock_agent_arn == null || can(regex("^arn:aws[a-zA-Z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:agent/[0-9a-zA-Z]+$", coalesce(var.bedrock_agent_arn, "-")))
    error_message = "bedrock_agent_arn must be null or a Bedrock agent ARN (arn:<partition>:bedrock:<region>:<account>:agent/<id>)."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the function's role, or null (the default) for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.permissions_boundary_arn, "-")))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags added to the function, its role and its log group (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}
