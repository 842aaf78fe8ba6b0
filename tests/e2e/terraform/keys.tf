# The keys: the main one (policy, alias, grant, ciphertext use it) and one with automatic
# rotation on a custom period. Everything else names the main key by local.main_key_id and
# local.main_key_arn.

resource "aws_kms_key" "main" {
  description             = "terraform e2e: main key"
  deletion_window_in_days = 7
  tags = {
    team = "blue"
    env  = "e2e"
  }
}

resource "aws_kms_key" "rotating" {
  description             = "terraform e2e: rotating key"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  rotation_period_in_days = 180
  tags = {
    team = "blue"
  }
}

# Imported key material: the provider wraps the bytes with the public key of
# GetParametersForImport and imports them, never expiring.
variable "imported_material" {
  type      = string
  sensitive = true
}

resource "aws_kms_external_key" "imported" {
  description             = "terraform e2e: imported key"
  deletion_window_in_days = 7
  key_material_base64     = var.imported_material
  # The provider disables the key after the import unless this says otherwise.
  enabled = true
  tags = {
    team = "blue"
  }
}

# A multi-Region key with rotation, and its replica in eu-west-1 (its own description and tags;
# the provider sends ReplicateKey to the primary's Region).
resource "aws_kms_key" "multi" {
  description             = "terraform e2e: multi-Region primary"
  deletion_window_in_days = 7
  multi_region            = true
  enable_key_rotation     = true
  tags = {
    team = "blue"
  }
}

resource "aws_kms_replica_key" "multi_eu" {
  provider                = aws.eu
  description             = "terraform e2e: multi-Region replica"
  deletion_window_in_days = 7
  primary_key_arn         = aws_kms_key.multi.arn
  tags = {
    team = "eu"
  }
}

locals {
  main_key_id  = aws_kms_key.main.key_id
  main_key_arn = aws_kms_key.main.arn
}
