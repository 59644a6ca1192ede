output "bucket_name" {
  description = "The platform's bucket."
  value       = aws_s3_bucket.data.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.data.arn
}

output "kms_key_arn" {
  description = "Customer-managed key of the bucket, the log group and the clusters' disks."
  value       = aws_kms_key.data.arn
}

output "kms_key_alias" {
  description = "Alias of that key."
  value       = aws_kms_alias.data.name
}

output "prefixes" {
  description = "Where each kind of object lives in the bucket."
  value       = local.prefixes
}
