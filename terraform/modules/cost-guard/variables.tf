variable "name_prefix" {
  description = "Prefix of the budget's name, e.g. fruits-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "monthly_limit_usd" {
  description = "Monthly EMR and EC2 spend (USD) that the alarms measure against."
  type        = number
  validation {
    condition     = var.monthly_limit_usd > 0
    error_message = "monthly_limit_usd must be positive."
  }
}

variable "alert_emails" {
  description = "Who is told at 80 % of the limit spent and at 100 % forecast."
  type        = list(string)
  validation {
    # A budget notification takes at most 10 e-mail subscribers (and one SNS topic):
    # docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_NotificationWithSubscribers.html
    condition     = length(var.alert_emails) <= 10 && length(var.alert_emails) > 0 && alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must hold 1 to 10 e-mail addresses: an AWS Budgets notification takes at most 10."
  }
}
