terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # One state file per emulator port: `terraform init -backend-config=path=<state file>`.
  backend "local" {}
}
