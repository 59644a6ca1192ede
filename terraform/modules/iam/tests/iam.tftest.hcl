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

# Each role gets its own ARN, so that a statement naming the wrong role is seen.
override_resource {
  target = aws_iam_role.emr_service
  values = { arn = "arn:aws:iam::111122223333:role/fruits-test-emr-service", id = "fruits-test-emr-service" }
}
override_resource {
  target = aws_iam_role.emr_nodes
  values = { arn = "arn:aws:iam::111122223333:role/fruits-test-emr-nodes", id = "fruits-test-emr-nodes" }
}
override_resource {
  target = aws_iam_role.emr_demo_nodes
  values = { arn = "arn:aws:iam::111122223333:role/fruits-test-emr-demo-nodes", id = "fruits-test-emr-demo-nodes" }
}

variables {
  name_prefix        = "fruits-test"
  bucket_name        = "fruits-test-bucket"
  state_machine_name = "fruits-test-pipeline"
  kms_key_arn        = "arn:aws:kms:eu-west-3:111122223333:key/11111111-2222-3333-4444-555555555555"
  prefixes           = { images = "images/", artifacts = "artifacts/", results = "results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
}

run "least_privilege" {
  command = apply
  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.step_functions, data.aws_iam_policy_document.nodes, data.aws_iam_policy_document.emr_service_passes_node_role, data.aws_iam_policy_document.emr_service_uses_the_key, data.aws_iam_policy_document.nodes_interactive, data.aws_iam_policy_document.operator] : [
        for statement in document.statement : [for action in coalesce(statement.actions, []) : !strcontains(action, "*")]
      ]
    ]))
    error_message = "No policy may grant a wildcard action."
  }
  assert {
    # Each role to its own service only (EMR's v2 full-access policy pairs them the same way):
    # the service role to EMR, the nodes' role to EC2. Nothing else may be passed.
    condition = toset(flatten([
      for statement in data.aws_iam_policy_document.step_functions.statement : [
        for role in statement.resources : [for c in statement.condition : "${role} -> ${join(",", c.values)}" if c.variable == "iam:PassedToService"]
      ] if contains(statement.actions, "iam:PassRole")
      ])) == toset([
      "arn:aws:iam::111122223333:role/fruits-test-emr-service -> elasticmapreduce.amazonaws.com",
      "arn:aws:iam::111122223333:role/fruits-test-emr-nodes -> ec2.amazonaws.com",
    ])
    error_message = "The state machine must pass the EMR service role to elasticmapreduce.amazonaws.com only, and the nodes' role to ec2.amazonaws.com only."
  }
  assert {
    # EMR creates AWSServiceRoleForEMRCleanup on an account's first cluster, as the caller of
    # RunJobFlow: docs.aws.amazon.com/emr/latest/ManagementGuide/using-service-linked-roles-cleanup.html
    condition = length([
      for statement in data.aws_iam_policy_document.step_functions.statement : statement
      if statement.actions == toset(["iam:CreateServiceLinkedRole"])
      && statement.resources == toset(["arn:aws:iam::111122223333:role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*"])
      && anytrue([for c in statement.condition : c.variable == "iam:AWSServiceName" && c.test == "StringEquals" && c.values == tolist(["elasticmapreduce.amazonaws.com"])])
    ]) == 1
    error_message = "The state machine must be allowed to create EMR's cleanup service-linked role, and that role only."
  }
  assert {
    condition = toset(flatten([
      for statement in data.aws_iam_policy_document.emr_service_passes_node_role.statement : statement.resources
    ])) == toset(["arn:aws:iam::111122223333:role/fruits-test-emr-nodes", "arn:aws:iam::111122223333:role/fruits-test-emr-demo-nodes"])
    error_message = "EMR's service role may pass the two node roles (pipeline and demo) to EC2, and nothing else."
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

run "nodes_keep_the_feature_store" {
  # A run reads the stored features, appends new ones, and a purge deletes erased ones: read,
  # write and delete under the feature store prefix, and nowhere else that they could not before.
  command = apply
  assert {
    condition = [
      for s in data.aws_iam_policy_document.nodes.statement : toset(s.actions) if s.sid == "KeepTheFeatureStore"
    ] == [toset(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"])]
    error_message = "The nodes must read, write and delete objects of the feature store."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.nodes.statement : s.resources if contains(s.actions, "s3:DeleteObject")
      ])) == toset(["arn:aws:s3:::fruits-test-bucket/results/*", "arn:aws:s3:::fruits-test-bucket/logs/*", "arn:aws:s3:::fruits-test-bucket/tmp/*", "arn:aws:s3:::fruits-test-bucket/feature-store/*",
    "arn:aws:s3:::fruits-test-bucket/results_$folder$", "arn:aws:s3:::fruits-test-bucket/tmp_$folder$", "arn:aws:s3:::fruits-test-bucket/feature-store_$folder$"])
    error_message = "The nodes may delete under results/, logs/, tmp/ and feature-store/ and those folders' EMRFS markers only (never images/ or artifacts/)."
  }
}

run "demo_cluster_access_is_narrow" {
  command = apply
  assert {
    # Session Manager and notebooks are the demo cluster's alone: pipeline nodes get neither.
    # (that the pipeline's node role has neither is in compliance/access_matrix: it sees every policy)
    condition     = aws_iam_role_policy.emr_demo_nodes_interactive.role == "fruits-test-emr-demo-nodes" && aws_iam_role_policy.emr_demo_nodes.role == "fruits-test-emr-demo-nodes"
    error_message = "The demo cluster's role must carry the Session Manager and notebook permissions, besides the nodes' data access."
  }
  assert {
    condition     = aws_iam_instance_profile.emr_demo_nodes.role == aws_iam_role.emr_demo_nodes.name && aws_iam_instance_profile.emr_nodes.role == aws_iam_role.emr_nodes.name
    error_message = "The demo cluster and the pipeline must use separate instance profiles."
  }
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

run "statements_follow_the_storage_prefixes" {
  # The paths come from the storage module's `prefixes` (the root passes them): change one there
  # and every statement follows.
  command = apply
  variables {
    prefixes = { images = "photos/", artifacts = "code/", results = "outputs/", logs = "journal/", tmp = "scratch/", notebooks = "notes/", feature_store = "kept/" }
  }
  assert {
    condition = {
      for s in concat(data.aws_iam_policy_document.nodes.statement, data.aws_iam_policy_document.nodes_interactive.statement) :
      s.sid => toset(s.resources) if contains(["ReadImagesAndArtifacts", "WriteResultsAndLogs", "SaveNotebooks", "KeepTheFeatureStore"], s.sid)
      } == {
      ReadImagesAndArtifacts = toset(["arn:aws:s3:::fruits-test-bucket/photos/*", "arn:aws:s3:::fruits-test-bucket/code/*", "arn:aws:s3:::fruits-test-bucket/outputs/*"])
      WriteResultsAndLogs    = toset(["arn:aws:s3:::fruits-test-bucket/outputs/*", "arn:aws:s3:::fruits-test-bucket/journal/*", "arn:aws:s3:::fruits-test-bucket/scratch/*"])
      SaveNotebooks          = toset(["arn:aws:s3:::fruits-test-bucket/notes/*"])
      KeepTheFeatureStore    = toset(["arn:aws:s3:::fruits-test-bucket/kept/*"])
    }
    error_message = "The nodes' and the demo's S3 statements must name the prefixes they are given, and only those."
  }
}

run "refuses_a_prefix_without_its_trailing_slash" {
  command = plan
  variables {
    prefixes = { images = "images/", artifacts = "artifacts/", results = "results", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
  }
  expect_failures = [var.prefixes]
}

run "refuses_a_prefix_with_a_leading_slash" {
  command = plan
  variables {
    prefixes = { images = "/images/", artifacts = "artifacts/", results = "results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
  }
  expect_failures = [var.prefixes]
}

run "refuses_a_prefix_with_a_dot_folder" {
  # Hadoop resolves "images/../x/" to "x/": the policy would name one folder, the jobs read another.
  command = plan
  variables {
    prefixes = { images = "images/../photos/", artifacts = "artifacts/", results = "results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
  }
  expect_failures = [var.prefixes]
}

run "accepts_nested_prefixes" {
  command = apply
  variables {
    prefixes = { images = "data/images.v2/", artifacts = "data/artifacts/", results = "data/out/results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
  }
  assert {
    # EMRFS may look up and mark every folder above a written prefix: "data", "data/out" and
    # "data/out/results" for results, but never the images' or artifacts' own folders.
    condition = toset(flatten([for s in data.aws_iam_policy_document.nodes.statement : s.resources if s.sid == "KeepTheirFolderMarkers"])) == toset([
      for folder in ["data", "data/out", "data/out/results", "tmp", "feature-store"] : "arn:aws:s3:::fruits-test-bucket/${folder}_$folder$"
    ])
    error_message = "The nodes must keep the EMRFS markers of each folder above a written prefix, and of no other."
  }
  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.nodes.statement : s.resources if s.sid == "LookUpTheWrittenFolders"]), "arn:aws:s3:::fruits-test-bucket/data/out")
    error_message = "The nodes must look up each folder above a written prefix by its bare key."
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
