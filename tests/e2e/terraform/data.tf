# The data sources read back what was made: the key by its alias, the alias by name.
data "aws_kms_key" "by_alias" {
  key_id = aws_kms_alias.main.name
}

data "aws_kms_alias" "main" {
  name = aws_kms_alias.main.name
}
