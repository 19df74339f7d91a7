variable "name" {
  description = "Name of the key: used for the alias (alias/<name>) and the key description."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.name)) && !startswith(var.name, "aws/") && !startswith(var.name, "/")
    error_message = "name must be 1-250 characters of [a-zA-Z0-9/_-], not start with \"/\" and not use the reserved \"aws/\" prefix."
  }
}

variable "deletion_window_in_days" {
  description = "Days KMS waits before deleting the key once it is scheduled for deletion (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "log_group_name_prefixes" {
  description = "CloudWatch Logs log-group name prefixes (e.g. \"/aws/lambda/autoninja-\") whose log groups may be encrypted with this key. The key policy lets the regional CloudWatch Logs service use the key only when the encryption context names a log group under one of these prefixes. Empty list: no CloudWatch Logs access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.log_group_name_prefixes : can(regex("^[a-zA-Z0-9_/.#-]{1,512}$", p))])
    error_message = "Each log group name prefix must be 1-512 characters of [a-zA-Z0-9_/.#-] (no wildcards: the policy appends \"*\")."
  }
}

variable "tags" {
  description = "Tags added to the key (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "create_signing_key" {
  description = "Also create the asymmetric key that signs job seals (SIGN_VERIFY, ECC_NIST_P256)."
  type        = bool
  default     = true
}
