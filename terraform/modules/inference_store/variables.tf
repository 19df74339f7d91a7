variable "table_name" {
  description = "Name of the inference-records DynamoDB table."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of [a-zA-Z0-9_.-]."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table (server-side encryption)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not a key ID or an alias."
  }
}

variable "ttl_attribute_name" {
  description = "Name of a numeric epoch-seconds attribute after which DynamoDB expires an item. null (the default) turns TTL off: audit records are kept."
  type        = string
  default     = null

  validation {
    condition     = var.ttl_attribute_name == null || can(regex("^[a-zA-Z0-9_.-]{1,255}$", var.ttl_attribute_name))
    error_message = "ttl_attribute_name must be null or 1-255 characters of [a-zA-Z0-9_.-]."
  }
}

variable "deletion_protection" {
  description = "Whether DynamoDB refuses DeleteTable. Keep true outside throw-away stacks."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to the table (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}
