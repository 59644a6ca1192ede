output "subnet_id" {
  description = "Subnet of the transient clusters."
  value       = aws_subnet.emr.id
}

output "vpc_id" {
  description = "VPC of that subnet."
  value       = aws_vpc.emr.id
}
