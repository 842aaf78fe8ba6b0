# Encrypt through the alias (aws_kms_ciphertext), decrypt again (data aws_kms_secrets).
variable "secret" {
  type      = string
  default   = "hello from terraform"
  sensitive = true
}

resource "aws_kms_ciphertext" "secret" {
  key_id    = aws_kms_alias.main.name
  plaintext = var.secret
  context   = { app = "tf-e2e" }
}

data "aws_kms_secrets" "secret" {
  secret {
    name    = "secret"
    payload = aws_kms_ciphertext.secret.ciphertext_blob
    context = { app = "tf-e2e" }
  }
}
