terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Lowest version this module is validated and tested with (aws_sfn_state_machine's
      # logging and tracing blocks, aws_emr_security_configuration, KMS-encrypted log groups).
      version = ">= 3.39.0"
    }
  }
}
