output "budget_name" {
  description = "Name of the budget (AWS console: Billing > Budgets)."
  value       = aws_budgets_budget.emr.name
}
