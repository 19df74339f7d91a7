terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State stays local until a remote backend is configured: copy backend.tf.example to backend.tf,
  # fill it in and run `terraform init -migrate-state`.
}
