# One AutoNinja action-group function: the Lambda function running functions/<agent>/app.py on the
# shared layer, its own least-privilege role, its own encrypted log group and, when its Bedrock agent
# exists, the permission for that agent (and only it) to invoke it.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # Object keys the layer writes and reads: "{job_name}/..." with job names "job-{keyword}-{stamp}",
  # plus dead-lettered records under "_dead-letters/" (records.py, artifacts.py).
  job_objects         = "${var.bucket_arn}/job-*"
  dead_letter_objects = "${var.bucket_arn}/_dead-letters/*"

  # The settings model (layer/autoninja/settings.py) reads these at cold start.
  environment = merge(
    var.environment_variables,
    var.deploy_permissions == null ? {} : merge(
      { AUTONINJA_DEPLOY_STACK_PREFIX = var.deploy_permissions.stack_name_prefix },
      var.deploy_permissions.agent_resource_role_arn == null ? {} : {
        AUTONINJA_AGENT_RESOURCE_ROLE_ARN = var.deploy_permissions.agent_resource_role_arn
      },
    ),
    var.signing_key_arn == null ? {} : { AUTONINJA_SIGNING_KEY_ID = var.signing_key_arn },
    {
      AUTONINJA_INFERENCE_TABLE    = var.table_name
      AUTONINJA_ARTIFACT_BUCKET    = var.bucket_name
      AUTONINJA_KMS_KEY_ID         = var.kms_key_arn
      AUTONINJA_LOG_LEVEL          = var.log_level
      AUTONINJA_AGENT_NAME         = var.agent_name
      POWERTOOLS_SERVICE_NAME      = var.agent_name
      POWERTOOLS_METRICS_NAMESPACE = "AutoNinja"
    },
  )

  stack_arns       = var.deploy_permissions == null ? [] : ["arn:${local.partition}:cloudformation:${local.region}:${local.account_id}:stack/${var.deploy_permissions.stack_name_prefix}*/*"]
  agent_arns       = ["arn:${local.partition}:bedrock:${local.region}:${local.account_id}:agent/*"]
  agent_alias_arns = ["arn:${local.partition}:bedrock:${local.region}:${local.account_id}:agent-alias/*/*"]
}

# -- identity ------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesThisRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.function_name}-role"
  description          = "Runs the AutoNinja ${var.agent_name} action-group function"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  # checkov:skip=CKV_AWS_356: only the X-Ray statement has Resource "*": PutTraceSegments/PutTelemetryRecords have no resource-level permissions
  # checkov:skip=CKV_AWS_111: write actions are scoped to the table, the bucket's job and dead-letter prefixes, the CMK, this log group and (deployment-manager only) autoninja stacks and agents; X-Ray writes cannot be scoped
  statement {
    sid       = "InferenceRecords"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "InferenceRecordIndexes"
    actions   = ["dynamodb:Query"]
    resources = ["${var.table_arn}/index/*"]
  }

  # Writes only as the layer sends them: SSE-KMS with the project's CMK (artifacts.py). The bucket
  # policy denies any other upload too; this keeps the role least-privileged where no bucket policy
  # is attached (environments/local) and if one is ever loosened.
  statement {
    sid       = "JobArtifacts"
    actions   = ["s3:PutObject"]
    resources = ["${local.job_objects}/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [var.kms_key_arn]
    }
  }

  statement {
    sid       = "ReadJobArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${local.job_objects}/*"]
  }

  # Dead letters are written, never read back by a function (reconcile runs with an operator's rights).
  statement {
    sid       = "DeadLetters"
    actions   = ["s3:PutObject"]
    resources = [local.dead_letter_objects]

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [var.kms_key_arn]
    }
  }

  # Without ListBucket, S3 answers AccessDenied instead of NoSuchKey for a missing artifact, and the
  # function could not tell "not stored yet" (404) from "not allowed".
  statement {
    sid       = "ListJobArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["job-*"]
    }
  }

  statement {
    sid       = "EncryptWithTheProjectKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.signing_key_arn == null ? [] : [var.signing_key_arn]

    content {
      sid       = "SignJobSeals"
      actions   = ["kms:Sign", "kms:Verify", "kms:GetPublicKey"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # -- deployment-manager only ---------------------------------------------------------------------

  dynamic "statement" {
    for_each = var.deploy_permissions == null ? [] : [1]

    content {
      sid = "DeployAutoNinjaStacks"
      actions = [
        "cloudformation:CreateStack",
        "cloudformation:UpdateStack",
        "cloudformation:DeleteStack",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:ListStackResources",
        "cloudformation:GetTemplate",
      ]
      resources = local.stack_arns
    }
  }

  # The stacks run with this role's rights (no CloudFormation service role), so it may create what a
  # generated template holds, but only through CloudFormation (aws:CalledViaFirst).
  dynamic "statement" {
    for_each = var.deploy_permissions == null ? [] : [1]

    content {
      sid = "StackResourcesThroughCloudFormationOnly"
      actions = [
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:TagResource",
        "lambda:AddPermission",
        "lambda:RemovePermission",
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:TagResource",
        "dynamodb:UpdateContinuousBackups",
      ]
      resources = [
        "arn:${local.partition}:iam::${local.account_id}:role/*",
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/*",
        "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/*",
      ]

      condition {
        test     = "StringEquals"
        variable = "aws:CalledViaFirst"
        values   = ["cloudformation.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.deploy_permissions == null ? [] : [1]

    content {
      sid       = "PassGeneratedFunctionRolesToLambdaThroughCloudFormation"
      actions   = ["iam:PassRole"]
      resources = ["arn:${local.partition}:iam::${local.account_id}:role/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:CalledViaFirst"
        values   = ["cloudformation.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["lambda.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.deploy_permissions == null ? [] : [1]

    content {
      sid = "ConfigureBedrockAgents"
      actions = [
        "bedrock:CreateAgent",
        "bedrock:GetAgent",
        "bedrock:DeleteAgent",
        "bedrock:PrepareAgent",
        "bedrock:CreateAgentActionGroup",
        "bedrock:CreateAgentAlias",
        "bedrock:GetAgentAlias",
        "bedrock:TagResource",
      ]
      resources = concat(local.agent_arns, local.agent_alias_arns)
    }
  }

  dynamic "statement" {
    for_each = var.deploy_permissions == null ? [] : [1]

    content {
      sid       = "TestDeployedAgents"
      actions   = ["bedrock:InvokeAgent"]
      resources = local.agent_alias_arns
    }
  }

  dynamic "statement" {
    for_each = var.deploy_permissions == null || try(var.deploy_permissions.agent_resource_role_arn, null) == null ? [] : [var.deploy_permissions.agent_resource_role_arn]

    content {
      sid       = "PassTheAgentRoleToBedrock"
      actions   = ["iam:PassRole"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["bedrock.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# -- logs ----------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# -- the function --------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116: invoked synchronously by Bedrock Agents, which get every failure as a 4xx/5xx response; a DLQ only receives failed asynchronous invocations
  # checkov:skip=CKV_AWS_117: talks only to AWS APIs (DynamoDB, S3, KMS, X-Ray, CloudFormation, Bedrock) and reaches no private resource; a VPC would only add NAT or endpoints
  # checkov:skip=CKV_AWS_272: the zips are built reproducibly by make from the reviewed repository and tied to the deployment by source_code_hash; no Signer profile exists to sign them
  # checkov:skip=CKV_AWS_115: reserved concurrency is opt-in (var.reserved_concurrent_executions): reserving by default would take capacity from the account's unreserved pool
  function_name                  = var.function_name
  description                    = "AutoNinja ${var.agent_name} action group"
  role                           = aws_iam_role.this.arn
  handler                        = "app.lambda_handler"
  runtime                        = var.runtime
  architectures                  = ["x86_64"]
  filename                       = var.zip_path
  source_code_hash               = filebase64sha256(var.zip_path)
  layers                         = [var.layer_arn]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  # The log group exists (with retention and the CMK) before the first invocation could create it,
  # and the role has its policy before the function can run.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Bedrock may invoke the function only on behalf of this function's agent.
resource "aws_lambda_permission" "this" {
  count = var.allow_bedrock_agent_invoke ? 1 : 0

  statement_id   = "AllowBedrockAgentInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "bedrock.amazonaws.com"
  source_account = local.account_id
  source_arn     = var.bedrock_agent_arn

  lifecycle {
    precondition {
      condition     = var.bedrock_agent_arn != null
      error_message = "allow_bedrock_agent_invoke needs bedrock_agent_arn: the permission is scoped to one agent."
    }
  }
}
