# The platform: storage (bucket + key), IAM roles, the clusters' network, the state machine,
# and an optional budget alarm. Nothing here runs or costs per hour between runs.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # The roles that module.iam creates, named ahead so the key policy can name them (the roles'
  # own policies name the key, so neither can wait for the other).
  pipeline_role_arns = [for role in ["emr-nodes", "emr-demo-nodes", "emr-service"] :
  "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.name_prefix}-${role}"]
  # Named here for the pipeline module, which creates it, and the operator policy, which names it.
  state_machine_name = "${var.name_prefix}-pipeline"
}

module "storage" {
  source                = "./modules/storage"
  name_prefix           = var.name_prefix
  region                = var.region
  bucket_name           = var.bucket_name
  key_user_arns         = concat(local.pipeline_role_arns, var.data_user_arns)
  log_group_name_prefix = "/aws/vendedlogs/states/${var.name_prefix}-"
  force_destroy         = var.force_destroy_bucket
}

module "iam" {
  source             = "./modules/iam"
  name_prefix        = var.name_prefix
  bucket_name        = module.storage.bucket_name
  kms_key_arn        = module.storage.kms_key_arn
  prefixes           = module.storage.prefixes
  state_machine_name = local.state_machine_name
  allowed_regions    = [var.region]
}

module "network" {
  source                    = "./modules/network"
  count                     = var.subnet_id == null ? 1 : 0
  name_prefix               = var.name_prefix
  region                    = var.region
  kms_key_arn               = module.storage.kms_key_arn
  session_manager_endpoints = var.session_manager_endpoints
}

module "pipeline" {
  source                    = "./modules/pipeline"
  name_prefix               = var.name_prefix
  state_machine_name        = local.state_machine_name
  bucket_name               = module.storage.bucket_name
  prefixes                  = module.storage.prefixes
  kms_key_arn               = module.storage.kms_key_arn
  step_functions_role_arn   = module.iam.step_functions_role_arn
  emr_service_role_name     = module.iam.emr_service_role_name
  emr_instance_profile_name = module.iam.emr_instance_profile_name
  subnet_id                 = coalesce(var.subnet_id, one(module.network[*].subnet_id))
  log_retention_days        = var.log_retention_days
  emr                       = var.emr
}

module "cost_guard" {
  source            = "./modules/cost-guard"
  count             = var.cost_guard == null ? 0 : 1
  name_prefix       = var.name_prefix
  monthly_limit_usd = var.cost_guard.monthly_limit_usd
  alert_emails      = var.cost_guard.alert_emails
}
