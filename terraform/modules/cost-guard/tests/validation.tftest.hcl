# terraform test: the budget's inputs that AWS Budgets would refuse are refused at plan. The
# offline provider (3.39) cannot load the budget (its cost_filter block is newer), so
# compliance/terraform_checks.py runs this file against a copy of variables.tf; with a current
# provider it runs in place too.
mock_provider "aws" {}

variables {
  name_prefix       = "fruits"
  monthly_limit_usd = 100
  alert_emails      = ["ops@example.com"]
}

# A budget notification has at most 10 e-mail subscribers (and one SNS topic):
# docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_NotificationWithSubscribers.html
run "accepts_ten_addresses" {
  command = plan
  variables { alert_emails = [for n in range(10) : "ops${n}@example.com"] }
}

run "refuses_eleven_addresses" {
  command = plan
  variables { alert_emails = [for n in range(11) : "ops${n}@example.com"] }
  expect_failures = [var.alert_emails]
}

run "refuses_no_address" {
  command = plan
  variables { alert_emails = [] }
  expect_failures = [var.alert_emails]
}
