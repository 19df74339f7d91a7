# The local stack: the same modules as environments/aws, applied to the embedded emulator.
# Only the provider differs: every endpoint points at var.endpoint, the way tflocal does it, so nothing
# here can reach real AWS.

provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true

  # Every service this project uses now or soon; add one here before using it.
  endpoints {
    bedrock        = var.endpoint
    bedrockagent   = var.endpoint
    cloudformation = var.endpoint
    cloudwatch     = var.endpoint
    dynamodb       = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    logs           = var.endpoint
    s3             = var.endpoint
    sts            = var.endpoint
    xray           = var.endpoint
  }

  default_tags {
    tags = {
      project     = "autoninja"
      environment = "local"
      managed_by  = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

module "kms" {
  source = "../../modules/kms"

  name                    = var.name_prefix
  deletion_window_in_days = 7
  log_group_name_prefixes = ["/aws/lambda/${var.name_prefix}"]
}

module "inference_store" {
  source = "../../modules/inference_store"

  table_name          = "${var.name_prefix}-inference-records"
  kms_key_arn         = module.kms.key_arn
  deletion_protection = false
}

module "artifact_store" {
  source = "../../modules/artifact_store"

  bucket_name   = "${var.name_prefix}-artifacts-${data.aws_caller_identity.current.account_id}"
  kms_key_arn   = module.kms.key_arn
  force_destroy = true
  attach_policy = var.attach_bucket_policy
}
