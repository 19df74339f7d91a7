# AutoNinja persistence in a real AWS account: the same modules as environments/local, with
# production settings (deletion protection on, no force_destroy, 30-day key deletion window).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "autoninja"
      environment = var.environment
      managed_by  = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  name_prefix = coalesce(var.name_prefix, "autoninja-${var.environment}")
}

module "kms" {
  source = "../../modules/kms"

  name                    = local.name_prefix
  deletion_window_in_days = 30
  log_group_name_prefixes = ["/aws/lambda/${local.name_prefix}"]
}

module "inference_store" {
  source = "../../modules/inference_store"

  table_name          = "${local.name_prefix}-inference-records"
  kms_key_arn         = module.kms.key_arn
  deletion_protection = true
}

module "artifact_store" {
  source = "../../modules/artifact_store"

  bucket_name                        = "${local.name_prefix}-artifacts-${data.aws_caller_identity.current.account_id}"
  kms_key_arn                        = module.kms.key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = false
  attach_policy                      = true
}
