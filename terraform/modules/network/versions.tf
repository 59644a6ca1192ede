terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39.0" # VPC, subnet, gateway endpoint: all older than 3.39, tested with it offline
    }
  }
}
