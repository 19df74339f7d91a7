# A customer-managed symmetric key for everything AutoNinja stores: the inference-records table, the
# artifacts bucket and the functions' log groups; and, optionally, the asymmetric key that signs job seals.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  log_group_arn_patterns = [
    for prefix in var.log_group_name_prefixes :
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${prefix}*"
  ]
}

# In a key policy, "Resource": "*" means "this key"; the statements below cannot widen to other keys.
data "aws_iam_policy_document" "this" {
  # checkov:skip=CKV_AWS_109: key policy; Resource "*" is this key only and the account root must administer it
  # checkov:skip=CKV_AWS_111: key policy; Resource "*" is this key only, write access is limited to the account root and the logs service
  # checkov:skip=CKV_AWS_356: key policy; Resource "*" is the only valid resource in a key policy (it means this key)
  statement {
    sid       = "EnableAccountRootAdministration"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = length(local.log_group_arn_patterns) > 0 ? [1] : []

    content {
      sid    = "AllowCloudWatchLogsForProjectLogGroups"
      effect = "Allow"
      actions = [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
      ]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = local.log_group_arn_patterns
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description              = "AutoNinja ${var.name}: encrypts the inference records, artifacts and logs"
  key_usage                = "ENCRYPT_DECRYPT"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  enable_key_rotation      = true
  deletion_window_in_days  = var.deletion_window_in_days
  policy                   = data.aws_iam_policy_document.this.json
  tags                     = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# -- the job-seal signing key (optional) -----------------------------------------------------------
# An asymmetric ECC key whose private half never leaves KMS: job seals are signed with it
# (layer/autoninja/seal.py), and anyone holding only its public key can check a seal.

data "aws_iam_policy_document" "seal" {
  # checkov:skip=CKV_AWS_109: key policy; Resource "*" is this key only and the account root must administer it
  # checkov:skip=CKV_AWS_111: key policy; Resource "*" is this key only, and only the account root is granted
  # checkov:skip=CKV_AWS_356: key policy; Resource "*" is the only valid resource in a key policy (it means this key)
  count = var.create_signing_key ? 1 : 0

  statement {
    sid       = "EnableAccountRootAdministration"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "seal" {
  # checkov:skip=CKV_AWS_7: KMS cannot rotate asymmetric keys; a seal names the key that signed it, so a new key can replace this one without invalidating old seals
  count = var.create_signing_key ? 1 : 0

  description              = "AutoNinja ${var.name}: signs job seals (ECDSA P-256, SHA-256)"
  key_usage                = "SIGN_VERIFY"
  customer_master_key_spec = "ECC_NIST_P256"
  deletion_window_in_days  = var.deletion_window_in_days
  policy                   = data.aws_iam_policy_document.seal[0].json
  tags                     = var.tags
}

resource "aws_kms_alias" "seal" {
  count = var.create_signing_key ? 1 : 0

  name          = "alias/${var.name}-seal"
  target_key_id = aws_kms_key.seal[0].key_id
}
