terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The standalone S3 bucket configuration resources (encryption, versioning, lifecycle,
      # ownership) appeared in 4.0. The offline provider (3.39) cannot load this module: checkov
      # and trivy scan it instead (see terraform/README.md).
      version = ">= 4.0"
    }
  }
}
