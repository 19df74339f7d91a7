# The AutoNinja Lambda layer: the `autoninja` package and its pinned dependencies under python/,
# built outside Terraform (`make package`) and published from the zip. A new version is published
# only when the zip's bytes change (the build is reproducible, so an unchanged source is a no-op).

resource "aws_lambda_layer_version" "this" {
  layer_name               = var.layer_name
  description              = var.description
  filename                 = var.zip_path
  source_code_hash         = filebase64sha256(var.zip_path)
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = ["x86_64"]
  license_info             = var.license_info
}
