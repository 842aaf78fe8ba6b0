# The keys. The provider reads GetKeyRotationStatus on every aws_kms_key and aws_kms_key_policy
# (whether or not rotation is enabled), so while Trent lacks key rotation neither can be
# managed: then terraform.sh creates the main key with the aws CLI and passes it in
# (rotation_supported = false, main_key_id set), and the rotating key and the key policy are
# left out. Everything else uses local.main_key_id and local.main_key_arn.

variable "rotation_supported" {
  description = "Trent implements key rotation (GetKeyRotationStatus, EnableKeyRotation): manage the keys here"
  type        = bool
  default     = true
}

variable "main_key_id" {
  description = "With rotation_supported = false: the ID of the main key, made outside Terraform"
  type        = string
  default     = ""
}

resource "aws_kms_key" "main" {
  count                   = var.rotation_supported ? 1 : 0
  description             = "terraform e2e: main key"
  deletion_window_in_days = 7
  tags = {
    team = "blue"
    env  = "e2e"
  }
}

resource "aws_kms_key" "rotating" {
  count                   = var.rotation_supported ? 1 : 0
  description             = "terraform e2e: rotating key"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  rotation_period_in_days = 180
  tags = {
    team = "blue"
  }
}

data "aws_kms_key" "main_input" {
  count  = var.rotation_supported ? 0 : 1
  key_id = var.main_key_id
}

locals {
  main_key_id  = var.rotation_supported ? aws_kms_key.main[0].key_id : data.aws_kms_key.main_input[0].id
  main_key_arn = var.rotation_supported ? aws_kms_key.main[0].arn : data.aws_kms_key.main_input[0].arn
}
