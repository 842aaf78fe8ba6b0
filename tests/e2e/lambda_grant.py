#!/usr/bin/env python3
"""The Lambda environment-variable scenario with boto3 (README, "Worked example").

A role decrypts with a key although neither its IAM policy nor the key policy allows it, because a
grant created by Lambda (acting for the admin role) does; once the grant is retired, AWS's exact
AccessDeniedException message. Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs, or:
    TRENT_BIN=target/debug/trent .venv/bin/python tests/e2e/lambda_grant.py
"""

import json
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boto3_basic import ROOT, Server, expect_eq, step  # noqa: E402

import botocore.exceptions  # noqa: E402

ACCOUNT = "012345678901"
REGION = "ap-northeast-1"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/test-role-cu5o193j/test"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test"
CONTEXT = {"aws:lambda:FunctionArn": FUNCTION}

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LOGS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
}
CONFIG = f"""
[[accounts]]
id = "{ACCOUNT}"

[[accounts.roles]]
name = "my-role"
policies = [{{ name = "admin", document = '{json.dumps(ADMIN_POLICY)}' }}]
sessions = [{{ name = "admin", access_key_id = "ASIAMYROLE", secret_access_key = "admin-secret" }}]

[[accounts.roles]]
name = "test-role-cu5o193j"
policies = [{{ name = "logs", document = '{json.dumps(LOGS_POLICY)}' }}]
sessions = [{{ name = "test", access_key_id = "ASIAFUNCTION", secret_access_key = "function-secret" }}]

[[service_callers]]
service = "lambda.amazonaws.com"
acts_for = "arn:aws:sts::{ACCOUNT}:assumed-role/my-role/admin"
access_key_id = "AKIALAMBDA"
secret_access_key = "lambda-secret"
"""


def denied(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} succeeded, expected AccessDeniedException")


def run(binary, work):
    config = Path(work) / "trent.toml"
    config.write_text(CONFIG)
    server = Server(binary, Path(work) / "data", work, ["--config", str(config)])
    try:
        admin = server.kms("ASIAMYROLE", "admin-secret", REGION)
        function = server.kms("ASIAFUNCTION", "function-secret", REGION)
        lambda_service = server.kms("AKIALAMBDA", "lambda-secret", REGION)

        step("a key whose policy names only my-role")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/my-role"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
        key_id = admin.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
        key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
        expect_eq("grants of a new key", [], admin.list_grants(KeyId=key_id)["Grants"])

        step("Lambda grants the function's session Decrypt, constrained to the function")
        created = lambda_service.create_grant(
            KeyId=key_id,
            GranteePrincipal=SESSION,
            RetiringPrincipal=f"lambda.{REGION}.amazonaws.com",
            Operations=["Decrypt", "RetireGrant"],
            Constraints={"EncryptionContextEquals": CONTEXT},
            Name="test/0f6a3c1e-8b8e-4c5b-a0d4-1b2e3f4a5b6c",
        )
        grant_id = created["GrantId"]
        if not re.fullmatch(r"[0-9a-f]{64}", grant_id):
            raise AssertionError(f"GrantId is not 64 hex digits: {grant_id}")
        (grant,) = admin.list_grants(KeyId=key_id)["Grants"]
        expect_eq("KeyId", key_arn, grant["KeyId"])
        expect_eq("GranteePrincipal", SESSION, grant["GranteePrincipal"])
        expect_eq("IssuingAccount", f"arn:aws:iam::{ACCOUNT}:root", grant["IssuingAccount"])
        expect_eq("Operations", ["Decrypt", "RetireGrant"], grant["Operations"])
        expect_eq("Constraints", {"EncryptionContextEquals": CONTEXT}, grant["Constraints"])

        step("the function decrypts through the grant, only with its context")
        blob = admin.encrypt(KeyId=key_id, Plaintext=b"db-password", EncryptionContext=CONTEXT)["CiphertextBlob"]
        expect_eq("plaintext", b"db-password", function.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"])
        code, _ = denied(function.decrypt, CiphertextBlob=blob)
        expect_eq("Decrypt without the context", "AccessDeniedException", code)

        step("my-role retires the grant; the function is denied with AWS's message")
        admin.retire_grant(KeyId=key_arn, GrantId=grant_id)
        expect_eq("grants after retirement", [], admin.list_grants(KeyId=key_id)["Grants"])
        code, message = denied(function.decrypt, CiphertextBlob=blob, EncryptionContext=CONTEXT)
        expect_eq("code", "AccessDeniedException", code)
        expect_eq(
            "message",
            f"User: {SESSION} is not authorized to perform: kms:Decrypt on resource: {key_arn} "
            "because no resource-based policy allows the kms:Decrypt action",
            message,
        )
        server.stop()
    except BaseException:
        server.kill()
        print(f"--- server log ({server.log_path}) ---\n{server.log()[-5000:]}", file=sys.stderr)
        raise


def main():
    binary = os.environ.get("TRENT_BIN") or str(ROOT / "target" / "debug" / "trent")
    with tempfile.TemporaryDirectory(prefix="trent-e2e-lambda.") as work:
        run(binary, work)
    print("PASS: tests/e2e/lambda_grant.py")


if __name__ == "__main__":
    main()
