output "account_id" {
  value = local.account_id
}
output "main_key_id" {
  value = local.main_key_id
}
output "main_key_arn" {
  value = local.main_key_arn
}
output "rotating_key_id" {
  value = aws_kms_key.rotating.key_id
}
output "imported_key_id" {
  value = aws_kms_external_key.imported.id
}
output "imported_key_state" {
  value = aws_kms_external_key.imported.key_state
}
output "imported_key_expiration_model" {
  value = aws_kms_external_key.imported.expiration_model
}
output "role_arn" {
  value = aws_iam_role.app.arn
}
output "grant_id" {
  value = aws_kms_grant.app.grant_id
}
output "alias_arn" {
  value = aws_kms_alias.main.arn
}
output "alias_target_key_id" {
  value = data.aws_kms_alias.main.target_key_id
}
output "key_by_alias_id" {
  value = data.aws_kms_key.by_alias.id
}
output "key_by_alias_description" {
  value = data.aws_kms_key.by_alias.description
}
output "ciphertext" {
  value = aws_kms_ciphertext.secret.ciphertext_blob
}
output "decrypted" {
  value     = data.aws_kms_secrets.secret.plaintext["secret"]
  sensitive = true
}
output "multi_key_id" {
  value = aws_kms_key.multi.key_id
}
output "replica_arn" {
  value = aws_kms_replica_key.multi_eu.arn
}
