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

# -- the functions ---------------------------------------------------------------------------------
# `make up` builds the zips for this machine's Python (LOCAL_LAMBDA_RUNTIME) and passes their folder
# as package_dir, so the packaged handlers can run here (`autoninja invoke`). moto creates functions
# and layers without Docker; only invoking them through the Lambda API would need it, which nothing
# does: `autoninja invoke` runs the deployed zips itself.

locals {
  agents      = toset(["requirements-analyst", "solution-architect", "code-generator", "quality-validator", "deployment-manager"])
  package_dir = coalesce(var.package_dir, "${path.root}/../../../build/${var.lambda_runtime}")
}

module "layer" {
  source = "../../modules/lambda_layer"

  layer_name          = "${var.name_prefix}-autoninja"
  zip_path            = "${local.package_dir}/layer.zip"
  compatible_runtimes = [var.lambda_runtime]
}

module "functions" {
  source   = "../../modules/agent_function"
  for_each = local.agents

  agent_name    = each.key
  function_name = "${var.name_prefix}-${each.key}"
  zip_path      = "${local.package_dir}/functions/${each.key}.zip"
  layer_arn     = module.layer.arn
  runtime       = var.lambda_runtime
  timeout       = each.key == "deployment-manager" ? 900 : 60
  log_level     = var.log_level
  kms_key_arn   = module.kms.key_arn
  table_name    = module.inference_store.table_name
  table_arn     = module.inference_store.table_arn
  bucket_name   = module.artifact_store.bucket_name
  bucket_arn    = module.artifact_store.bucket_arn

  signing_key_arn = module.kms.signing_key_arn

  deploy_permissions = each.key == "deployment-manager" ? { stack_name_prefix = var.deploy_stack_prefix } : null

  allow_bedrock_agent_invoke = var.enable_bedrock_agents
  bedrock_agent_arn          = var.enable_bedrock_agents ? module.bedrock_agents[0].agent_arns[each.key] : null
}

# moto has no agent action groups, aliases or collaborators: off unless the emulator has them.
module "bedrock_agents" {
  source = "../../modules/bedrock_agents"
  count  = var.enable_bedrock_agents ? 1 : 0

  name_prefix = var.name_prefix
  kms_key_arn = module.kms.key_arn
  functions = {
    for agent in local.agents : agent => {
      function_arn   = module.functions[agent].function_arn
      openapi_schema = file("${path.root}/../../../functions/${agent}/openapi.json")
    }
  }
}
