# data_user_arns grows the key policy (each ARN is named twice), which KMS takes up to 32,768 bytes:
# docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html. The cap keeps it under
# (tests/compliance/test_policy_sizes.py renders it at the cap). Run like region_validation.tftest.hcl,
# on a copy of the root's variables.tf.
mock_provider "aws" {}

run "accepts_the_cap" {
  command = plan
  variables { data_user_arns = [for n in range(100) : format("arn:aws:iam::111122223333:role/%s%03d", join("", [for c in range(66) : "r"]), n)] }
}

run "refuses_a_hundred_and_one_arns" {
  command = plan
  variables { data_user_arns = [for n in range(101) : "arn:aws:iam::111122223333:role/user${n}"] }
  expect_failures = [var.data_user_arns]
}

run "refuses_more_than_ten_thousand_characters" {
  command = plan
  variables { data_user_arns = [for n in range(2) : format("arn:aws:iam::111122223333:role/%s/user%d", join("", [for c in range(993) : "ppppp"]), n)] }
  expect_failures = [var.data_user_arns]
}
