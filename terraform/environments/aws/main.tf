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

# -- the functions and the agents --------------------------------------------------------------------
# Build first: `make package` (LAMBDA_RUNTIME, default python3.12) writes build/<runtime>/layer.zip and
# build/<runtime>/functions/<agent>.zip; `make schemas` keeps functions/<agent>/openapi.json current.

locals {
  agents      = toset(["requirements-analyst", "solution-architect", "code-generator", "quality-validator", "deployment-manager"])
  package_dir = coalesce(var.package_dir, "${path.root}/../../../build/${var.lambda_runtime}")
}

module "layer" {
  source = "../../modules/lambda_layer"

  layer_name          = "${local.name_prefix}-autoninja"
  zip_path            = "${local.package_dir}/layer.zip"
  compatible_runtimes = [var.lambda_runtime]
}

module "functions" {
  source   = "../../modules/agent_function"
  for_each = local.agents

  agent_name         = each.key
  function_name      = "${local.name_prefix}-${each.key}"
  zip_path           = "${local.package_dir}/functions/${each.key}.zip"
  layer_arn          = module.layer.arn
  runtime            = var.lambda_runtime
  timeout            = each.key == "deployment-manager" ? 900 : 60
  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn
  table_name         = module.inference_store.table_name
  table_arn          = module.inference_store.table_arn
  bucket_name        = module.artifact_store.bucket_name
  bucket_arn         = module.artifact_store.bucket_arn
  signing_key_arn    = module.kms.signing_key_arn

  deploy_permissions = each.key == "deployment-manager" ? {
    stack_name_prefix       = var.deploy_stack_prefix
    agent_resource_role_arn = var.generated_agent_role_arn
  } : null

  allow_bedrock_agent_invoke = var.enable_bedrock_agents
  bedrock_agent_arn          = var.enable_bedrock_agents ? module.bedrock_agents[0].agent_arns[each.key] : null
}

module "bedrock_agents" {
  source = "../../modules/bedrock_agents"
  count  = var.enable_bedrock_agents ? 1 : 0

  name_prefix      = local.name_prefix
  kms_key_arn      = module.kms.key_arn
  foundation_model = var.foundation_model
  functions = {
    for agent in local.agents : agent => {
      function_arn   = module.functions[agent].function_arn
      openapi_schema = file("${path.root}/../../../functions/${agent}/openapi.json")
    }
  }
}
