# The main key's policy: the account (so IAM policies apply) and the role's DescribeKey.
resource "aws_kms_key_policy" "main" {
  key_id = local.main_key_id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "tf-e2e"
    Statement = [
      {
        Sid       = "account"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "app"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.app.arn }
        Action    = "kms:DescribeKey"
        Resource  = "*"
      },
    ]
  })
}
