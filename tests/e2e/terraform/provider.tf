# The provider pointed at Trent: KMS, IAM and STS on the one endpoint, the dev credentials
# test/test (the root of account 000000000000), nothing read from the machine. The account ID
# comes from Trent's STS GetCallerIdentity (skip_requesting_account_id is left false).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" {
  description = "Trent's URL, e.g. http://127.0.0.1:4599"
  type        = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  # A test fails fast instead of retrying a refused request for minutes.
  max_retries = 2

  endpoints {
    kms = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
  }
}

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

# The same endpoint for a second Region (Trent takes the Region from the SigV4 scope): where
# aws_kms_replica_key puts the replica of the multi-Region key.
provider "aws" {
  alias                       = "eu"
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 2

  endpoints {
    kms = var.endpoint
    iam = var.endpoint
    sts = var.endpoint
  }
}
