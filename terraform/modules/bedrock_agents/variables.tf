variable "name_prefix" {
  description = "Prefix of every name: agents \"<prefix>-<agent>\", \"<prefix>-supervisor\", role \"<prefix>-bedrock-agents\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 characters of [a-z0-9-], start with a letter and not end with \"-\"."
  }
}

variable "functions" {
  description = "The action-group function of each collaborator, by agent name: its ARN (the executor) and its OpenAPI schema as JSON text (functions/<agent>/openapi.json)."
  type = map(object({
    function_arn   = string
    openapi_schema = string
  }))

  validation {
    condition     = sort(keys(var.functions)) == sort(["requirements-analyst", "solution-architect", "code-generator", "quality-validator", "deployment-manager"])
    error_message = "functions must have exactly the five collaborators: requirements-analyst, solution-architect, code-generator, quality-validator, deployment-manager."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : can(jsondecode(f.openapi_schema).openapi) && can(regex("^arn:aws[a-zA-Z-]*:lambda:", f.function_arn))])
    error_message = "Each function needs a Lambda function ARN and an OpenAPI schema as JSON text (run `make schemas`)."
  }
}

variable "foundation_model" {
  description = "Foundation model (model ID) every agent runs on."
  type        = string
  default     = "anthropic.claude-3-5-sonnet-20240620-v1:0"

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[a-zA-Z0-9.:-]+$", var.foundation_model))
    error_message = "foundation_model must be a Bedrock model ID such as anthropic.claude-3-5-sonnet-20240620-v1:0."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project's customer-managed key: encrypts the agents' session data."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "supervisor_instruction" {
  description = "Instruction of the supervisor agent (40-20000 characters)."
  type        = string
  default     = "You are AutoNinja, who builds a working Amazon Bedrock agent from a user's request. Create one job_name for the request (job-<keyword>-<YYYYMMDD-HHMMSS>, UTC) and pass it to every collaborator. Work in order: the requirements analyst, the solution architect, the code generator, the quality validator and, only if validation passed, the deployment manager. Pass each collaborator what the previous ones produced. Report to the user what was built, where it is stored and any step that failed, exactly as it was answered."

  validation {
    condition     = length(var.supervisor_instruction) >= 40 && length(var.supervisor_instruction) <= 20000
    error_message = "supervisor_instruction must be 40-20000 characters."
  }
}

variable "idle_session_ttl_in_seconds" {
  description = "Seconds of inactivity after which Bedrock ends an agent session (60-3600)."
  type        = number
  default     = 1800

  validation {
    condition     = var.idle_session_ttl_in_seconds >= 60 && var.idle_session_ttl_in_seconds <= 3600 && floor(var.idle_session_ttl_in_seconds) == var.idle_session_ttl_in_seconds
    error_message = "idle_session_ttl_in_seconds must be a whole number between 60 and 3600."
  }
}

variable "alias_name" {
  description = "Name of the alias every agent is published under."
  type        = string
  default     = "live"

  validation {
    condition     = can(regex("^([0-9a-zA-Z][_-]?){1,100}$", var.alias_name))
    error_message = "alias_name must be 1-100 characters of [0-9a-zA-Z_-], with no two of _ or - in a row."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the agents' role, or null (the default) for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.permissions_boundary_arn, "-")))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags added to the agents, their aliases and their role (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}
