output "subnet_id" {
  description = "Subnet of the transient clusters."
  value       = aws_subnet.emr.id
}

output "vpc_id" {
  description = "VPC of that subnet."
  value       = aws_vpc.emr.id
}

output "session_manager_reachable" {
  description = "Whether the subnet's nodes can reach Session Manager (the demo's port forwarding)."
  value       = var.session_manager_endpoints
}
