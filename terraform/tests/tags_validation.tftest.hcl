# The root's extra tags go on every resource through the provider's default_tags, IAM roles
# included, so they must be tags IAM accepts: docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html
# (keys of 1-128 and values of 0-256 letters, digits, spaces and _ . : / = + - @),
# docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (at most 50 tags a role),
# docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html (no aws: prefix).
# Run like region_validation.tftest.hcl, on a copy of the root's variables.tf.
mock_provider "aws" {}

run "accepts_plain_tags" {
  command = plan
  variables { tags = { "cost-center" = "CC 1234", "owner" = "jane.doe@example.com", "team:name" = "Data/ML + ops" } }
}

run "refuses_parentheses_in_a_value" {
  command = plan
  variables { tags = { owner = "Jane Doe (data)" } }
  expect_failures = [var.tags]
}

run "refuses_a_comma_in_a_key" {
  command = plan
  variables { tags = { "a,b" = "x" } }
  expect_failures = [var.tags]
}

run "refuses_the_reserved_aws_prefix" {
  command = plan
  variables { tags = { "AWS:owner" = "x" } }
  expect_failures = [var.tags]
}

run "refuses_a_value_over_256_characters" {
  command = plan
  variables { tags = { owner = join("", [for n in range(257) : "a"]) } }
  expect_failures = [var.tags]
}

run "refuses_more_tags_than_leave_room_for_the_three_of_the_provider" {
  command = plan
  variables { tags = { for n in range(48) : "tag${n}" => "x" } }
  expect_failures = [var.tags]
}
