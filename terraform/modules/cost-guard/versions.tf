terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The `cost_filter` block came after 3.39 (the offline provider, which therefore cannot
      # load this module: checkov and trivy scan it) and replaced `cost_filters`, gone in 5.0.
      version = ">= 4.0"
    }
  }
}
