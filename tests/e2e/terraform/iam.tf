# The role the grant is for: trusted by the account, with an inline policy of its own.
resource "aws_iam_role" "app" {
  name = "tf-app"
  path = "/svc/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${local.account_id}:root" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = { team = "blue" }
}

resource "aws_iam_role_policy" "app_kms" {
  name = "kms-describe"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["kms:DescribeKey"]
      Resource = local.main_key_arn
    }]
  })
}
