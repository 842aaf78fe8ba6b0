resource "aws_kms_alias" "main" {
  name          = "alias/tf-e2e-main"
  target_key_id = local.main_key_id
}

# The role may Decrypt and Encrypt with the main key under one encryption context.
resource "aws_kms_grant" "app" {
  name              = "tf-e2e-app"
  key_id            = local.main_key_id
  grantee_principal = aws_iam_role.app.arn
  operations        = ["Decrypt", "Encrypt"]
  constraints {
    encryption_context_equals = {
      app = "tf-e2e"
    }
  }
}
