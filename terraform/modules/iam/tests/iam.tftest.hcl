# terraform test with a mock AWS provider: least privilege, checked on the policy documents.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  # The documents' inputs are what the tests check; their rendered JSON is mocked.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/fruits-test-role" }
  }
}

variables {
  name_prefix = "fruits-test"
  bucket_name = "fruits-test-bucket"
  kms_key_arn = "arn:aws:kms:eu-west-3:111122223333:key/11111111-2222-3333-4444-555555555555"
}

run "least_privilege" {
  command = apply
  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.step_functions, data.aws_iam_policy_document.nodes, data.aws_iam_policy_document.emr_service_passes_node_role, data.aws_iam_policy_document.emr_service_uses_the_key, data.aws_iam_policy_document.nodes_interactive] : [
        for statement in document.statement : [for action in coalesce(statement.actions, []) : !strcontains(action, "*")]
      ]
    ]))
    error_message = "No policy may grant a wildcard action."
  }
  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.step_functions.statement :
      statement.sid != "PassOnlyTheTwoEmrRoles" || (alltrue([for r in statement.resources : startswith(r, "arn:aws:iam::111122223333:role/")]) && one(statement.condition).variable == "iam:PassedToService")
    ])
    error_message = "iam:PassRole must name roles only (the two EMR roles), with an iam:PassedToService condition."
  }
  assert {
    condition     = one(data.aws_iam_policy_document.deny_outside_eu.statement).effect == "Deny" && one(one(data.aws_iam_policy_document.deny_outside_eu.statement).condition).values == tolist(["eu-west-3"])
    error_message = "Every role must deny calls outside the allowed EU regions."
  }
  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.nodes.statement : s.resources]), "arn:aws:s3:::fruits-test-bucket/*")
    error_message = "The nodes must not get the whole bucket: only its prefixes."
  }
}

run "demo_cluster_access_is_narrow" {
  command = apply
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.nodes_interactive.statement :
      s.sid != "RegisterWithSessionManager" || alltrue([for r in s.resources : startswith(r, "arn:aws:ec2:eu-west-3:111122223333:instance/")])
    ])
    error_message = "Session Manager registration must name the nodes' instances in the allowed region only."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.nodes_interactive.statement :
      !contains(s.resources, "*") || alltrue([for a in s.actions : startswith(a, "ssmmessages:")])
    ])
    error_message = "Only the Session Manager channels (no resource-level permissions) may use resource \"*\"."
  }
  assert {
    condition = contains([for s in data.aws_iam_policy_document.nodes_interactive.statement : s.sid], "SaveNotebooks") && alltrue([
      for s in data.aws_iam_policy_document.nodes_interactive.statement :
      s.sid != "SaveNotebooks" || toset(s.resources) == toset(["arn:aws:s3:::fruits-test-bucket/jupyter/*"])
    ])
    error_message = "JupyterHub may save notebooks under jupyter/ only."
  }
}

run "refuses_a_region_outside_the_eu" {
  command = plan
  variables { allowed_regions = ["eu-west-3", "us-east-1"] }
  expect_failures = [var.allowed_regions]
}

run "refuses_london_outside_the_eu" {
  command = plan
  variables { allowed_regions = ["eu-west-2"] }
  expect_failures = [var.allowed_regions]
}
