terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39.0" # lowest version validated and tested here; nothing newer is needed
    }
  }
}
