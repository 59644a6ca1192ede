variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fruits-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
  validation {
    # The endpoints' security group is named NAME_PREFIX-endpoints, and a security group's name
    # "Can't start with sg-" (API_CreateSecurityGroup.html): apply would fail half-way.
    condition     = !startswith(var.name_prefix, "sg-")
    error_message = "name_prefix must not start with sg-: EC2 refuses security group names that do, and the endpoints' group is named NAME_PREFIX-endpoints."
  }
}

variable "region" {
  description = "Region of the VPC (the root's EU region); names the subnet's zone and the S3 endpoint."
  type        = string
  validation {
    condition     = contains(["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"], var.region)
    error_message = "region must be an AWS region in an EU member state: eu-central-1, eu-north-1, eu-south-1, eu-south-2, eu-west-1 or eu-west-3."
  }
}

variable "cidr_block" {
  description = "Address range of the VPC; the cluster's subnet takes its first /24."
  type        = string
  default     = "10.42.0.0/16"
  validation {
    condition     = can(cidrsubnet(var.cidr_block, 8, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 22
    error_message = "cidr_block must be an IPv4 range of /22 or larger, e.g. 10.42.0.0/16."
  }
}

variable "availability_zone" {
  description = "Zone of the cluster's subnet; null takes the region's zone a."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "The platform's data key: the only key the KMS endpoint serves (local-disk encryption of the nodes)."
  type        = string
}

variable "session_manager_endpoints" {
  description = "Add the ssm, ssmmessages and ec2messages interface endpoints the demo cluster's Session Manager port forwarding needs (about $0.01 an hour each, cluster or not)."
  type        = bool
  default     = false
}
