# An AWS Budgets alarm on the cluster's spend (EMR fees and the EC2 instances under them).
# Budgets is a global service billed per budget beyond the first two free ones:
# docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html
resource "aws_budgets_budget" "emr" {
  name         = "${var.name_prefix}-emr-spend"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "Service"
    values = ["Amazon Elastic MapReduce", "Amazon Elastic Compute Cloud - Compute"]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.alert_emails
  }
}
