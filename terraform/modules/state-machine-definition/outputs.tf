output "definition" {
  description = "The state machine definition (JSON), normalised; rendering fails if it is not valid JSON."
  value       = jsonencode(jsondecode(local.definition))
}
