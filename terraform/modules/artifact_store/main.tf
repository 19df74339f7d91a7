# The artifacts bucket: raw model responses and converted artifacts under
# {job_name}/{phase}/{agent_name}/{filename}. Versioned (purge removes every version), private,
# SSE-KMS with the project's customer-managed key.

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18: access logging needs a second, separately governed log bucket; data access is audited with CloudTrail data events at the account level
  # checkov:skip=CKV_AWS_144: cross-region replication is a disaster-recovery choice outside this module; versioning protects against overwrites and deletes
  # checkov:skip=CKV2_AWS_62: nothing consumes object events; the inference-records table is the index of what was written
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions-and-abort-incomplete-uploads"
    status = "Enabled"

    # An empty filter: the rule applies to every object in the bucket.
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # Noncurrent-version rules only mean something once versioning is on.
  depends_on = [aws_s3_bucket_versioning.this]
}

# Uploads: the library always sends x-amz-server-side-encryption: aws:kms with the key's ARN.
# - An upload that names another algorithm (AES256, aws:kms:dsse) is denied.
# - An upload that names another KMS key is denied (the key must be given by its ARN).
# - An upload without the headers is allowed: the bucket's default encryption applies this same key.
#   (A deny on a missing header would also deny UploadPart, which never carries it.)
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyUploadsNotEncryptedWithKms"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyUploadsWithAnotherKmsKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [var.kms_key_arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.attach_policy ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # S3 can answer OperationAborted to concurrent configuration writes on one bucket; write the policy
  # after the public access block rather than alongside it.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
